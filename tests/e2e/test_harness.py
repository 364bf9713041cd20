"""The browser harness itself: it must notice what it promises to notice, or every other
end-to-end test could pass over a broken page."""

from __future__ import annotations

import pytest

from tests.e2e.harness import goto, low_contrast_texts, relative_luminance


def test_recorder_catches_console_errors_exceptions_http_errors_and_the_internet(live_server, page, problems):
    goto(page, live_server.url + "/")
    assert problems.report() == ""

    with page.expect_console_message(lambda m: m.type == "error"):
        page.evaluate("console.error('deliberate console error')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('deliberate uncaught error'); })")
    with page.expect_response(lambda r: r.url.endswith("/assets/no-such-file.js")):
        page.evaluate("fetch('/assets/no-such-file.js')")
    # A script's request elsewhere is stopped by the app's CSP (connect-src 'self'), which says so
    # on the console; a navigation is not subject to it, and the harness aborts it instead.
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate("fetch('https://example.com/tracker.js').catch(() => null)")
    with page.expect_event("requestfailed"):
        page.evaluate("setTimeout(() => { location.href = 'https://example.com/landing'; })")

    assert any("deliberate console error" in e for e in problems.console_errors)
    assert any("deliberate uncaught error" in e for e in problems.page_errors)
    assert any("no-such-file.js: HTTP 404" in e for e in problems.error_responses)
    assert any("example.com/tracker.js" in e and "Content Security Policy" in e for e in problems.console_errors)
    assert problems.external_requests == ["https://example.com/landing"]
    problems.clear()  # all of the above was expected: the test must not fail for it
    assert problems.report() == ""


def test_contrast_check_flags_faint_text(live_server, page):
    goto(page, live_server.url + "/")
    page.evaluate("""() => {
        const p = document.createElement('p');
        p.id = 'faint'; p.textContent = 'barely there'; p.style.color = '#eeeeee';
        p.style.backgroundColor = '#ffffff';
        document.querySelector('#_pages_content').appendChild(p);
    }""")
    faint = low_contrast_texts(page, "#faint")
    assert [f["text"] for f in faint] == ["barely there"]
    assert faint[0]["ratio"] < 1.2


@pytest.mark.parametrize(
    ("color", "expected"),
    [("#000000", 0.0), ("rgb(255, 255, 255)", 1.0), ("rgba(255,255,255,0.5)", 1.0), ("#f2f5fa", 0.91)],
)
def test_relative_luminance(color, expected):
    assert relative_luminance(color) == pytest.approx(expected, abs=0.01)


def test_tracebacks_since_reads_only_the_new_part_of_the_log(tmp_path):
    from tests.e2e.harness import LiveServer

    log = tmp_path / "server.log"
    log.write_text('Traceback (most recent call last):\n  File "old.py"\nValueError: old\n')
    server = LiveServer(database_url="sqlite://", log_path=log, port=1)
    offset = server.log_size()
    with log.open("a") as fh:
        fh.write('127.0.0.1 - - [x] "GET / HTTP/1.1" 200 -\n'
                 'Traceback (most recent call last):\n  File "pages/x.py"\nKeyError: \'kwh\'\n'
                 '127.0.0.1 - - [x] "POST /_dash-update-component HTTP/1.1" 500 -\n')
    found = server.tracebacks_since(offset)
    assert len(found) == 1
    assert "KeyError: 'kwh'" in found[0] and "old" not in found[0]
