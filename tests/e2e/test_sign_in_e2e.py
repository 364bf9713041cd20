"""Signing in with a real browser: a page asked for without a session goes to the sign-in form and,
once signed in, back to that page, whose Dash callbacks then go through the gate with the session
cookie and the ``X-CSRFToken`` header that Dash's renderer copies from the ``_csrf_token`` cookie.

Every other browser test starts signed in (``new_page`` adds the cookies); this one starts without.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e import harness


def _sign_in(page, password: str) -> None:
    page.fill("#email", harness.E2E_EMAIL)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_a_browser_signs_in_with_the_form_and_its_callbacks_pass_the_gate(live_server, new_page, problems):
    page = new_page(signed_in=False)
    page.goto(live_server.url + "/data")
    assert (urlsplit(page.url).path, urlsplit(page.url).query) == ("/sign-in", "next=/data")

    with page.expect_response(lambda r: r.request.method == "POST" and "/sign-in" in r.url) as refused:
        _sign_in(page, "not the password at all")
    assert refused.value.status == 401
    assert "do not match" in page.locator(".alert-danger").inner_text()
    assert problems.error_responses == [f"POST {live_server.url}/sign-in?next=/data: HTTP 401"]
    problems.clear()  # the refusal, and the browser's console line about it, were the point

    with page.expect_response(lambda r: "/_dash-update-component" in r.url) as callback:
        _sign_in(page, harness.E2E_PASSWORD)
    assert urlsplit(page.url).path == "/data"
    assert callback.value.status == 200
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert callback.value.request.header_value("x-csrftoken") == cookies["_csrf_token"]
    assert "ed_session" in cookies
    harness.wait_for_dash_idle(page)


def test_a_page_whose_session_ends_goes_to_the_sign_in_form_and_back(live_server, new_page, problems):
    """The session ends while the page is open (here: its cookie is gone); the next callback's 401
    takes the browser to the sign-in form, which returns it to the page."""
    page = new_page(signed_in=False)
    page.goto(live_server.url + "/jobs")
    _sign_in(page, harness.E2E_PASSWORD)
    harness.wait_for_dash_idle(page)
    assert urlsplit(page.url).path == "/jobs"

    page.context.clear_cookies()
    with page.expect_navigation():
        page.locator("#jobs-refresh").click()
    assert (urlsplit(page.url).path, urlsplit(page.url).query) == ("/sign-in", "next=%2Fjobs")
    problems.clear()  # the 401 that ended the page was the point
    _sign_in(page, harness.E2E_PASSWORD)
    page.wait_for_url(live_server.url + "/jobs")
