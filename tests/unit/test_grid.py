"""Data tables offer their own page size among the page-size choices (else AG Grid shows a blank box)."""

from components.grid import data_grid


def test_the_page_size_is_one_of_the_choices():
    for size in (10, 25, 200):
        options = data_grid("g", [], grid_options={"paginationPageSize": size}).dashGridOptions
        assert size in options["paginationPageSizeSelector"]
    assert data_grid("g", []).dashGridOptions["paginationPageSizeSelector"] == [25, 50, 100]


def test_a_grid_that_says_its_choices_keeps_them():
    options = data_grid("g", [], grid_options={"paginationPageSize": 10, "paginationPageSizeSelector": False})
    assert options.dashGridOptions["paginationPageSizeSelector"] is False
