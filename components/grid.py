"""Data tables (dash-ag-grid) styled like the rest of the app in light and dark mode."""

from __future__ import annotations

import dash_ag_grid as dag

#: AG Grid's theming API fed with Bootstrap's CSS variables, so a grid follows data-bs-theme on <html>.
GRID_THEME = {
    "function": "themeQuartz.withParams({backgroundColor: 'var(--bs-body-bg)', "
    "foregroundColor: 'var(--bs-body-color)', borderColor: 'var(--bs-border-color)', "
    "headerBackgroundColor: 'var(--bs-tertiary-bg)', accentColor: 'var(--bs-primary)', "
    "browserColorScheme: 'inherit'})"
}


def data_grid(grid_id: str, column_defs: list[dict], row_data: list[dict] | None = None,
              grid_options: dict | None = None, **kwargs) -> dag.AgGrid:
    """A sortable, filterable, paginated grid that grows with its rows (no inner scrollbar)."""
    options = {"domLayout": "autoHeight", "pagination": True, "paginationPageSize": 25,
               "animateRows": False, "theme": GRID_THEME}
    options.update(grid_options or {})
    if "paginationPageSizeSelector" not in options:
        # AG Grid's own choices (20, 50, 100) leave its page-size box blank for any other size.
        options["paginationPageSizeSelector"] = sorted({options["paginationPageSize"], 25, 50, 100})
    return dag.AgGrid(
        id=grid_id,
        columnDefs=column_defs,
        rowData=row_data or [],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 100,
                       "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions=options,
        columnSize="responsiveSizeToFit",
        style={"width": "100%"},
        **kwargs,
    )


def number_format(digits: int = 0) -> dict:
    """A column ``valueFormatter``: thousands separators and ``digits`` decimals, a dash for no value."""
    return {"function": f"params.value == null ? '—' : d3.format(',.{digits}f')(params.value)"}


def percent_format() -> dict:
    """A column ``valueFormatter`` for a fraction shown as a whole percentage (0.634 -> 63%)."""
    return {"function": "params.value == null ? '—' : d3.format('.0%')(params.value)"}
