"""The reports portal in a real headless Chromium (Playwright) against a served instance."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from finops_agent.cli import app as cli
from finops_agent.orchestration.launcher import ManagedProcess, free_port, wait_healthy
from finops_agent.settings import Settings, load_settings
from tests import tiny
from tests.integration.cdp import require_chromium
from tests.support.reports import make_report

pytestmark = pytest.mark.integration
_ANSWER_TIMEOUT_MS = 60_000
# set by any script a hostile answer might smuggle into the page
_PWNED = "window.__pwned === true"


@pytest.fixture(scope="module")
def served_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    root = tmp_path_factory.mktemp("portal-browser")
    source = tiny.write("cur2", root / "data")
    settings = load_settings(output_dir=root / "reports", home=root / "home")
    return settings, make_report(settings, source)


def _start(settings: Settings, token: str | None = None) -> tuple[ManagedProcess, str]:
    port = free_port()
    env = {
        **os.environ,
        "FINOPS_OUTPUT_DIR": str(settings.output_dir),
        "FINOPS_HOME": str(settings.home),
        "FINOPS_PORTAL_HOST": "127.0.0.1",
        "FINOPS_PORTAL_PORT": str(port),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    env.pop("FINOPS_SERVE_TOKEN", None)
    if token:
        env["FINOPS_SERVE_TOKEN"] = token
    portal = ManagedProcess(
        "reports portal",
        [sys.executable, "-m", "finops_agent.serve"],
        env,
        Path(settings.home) / f"portal-{port}.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(portal, url, timeout=60)
    except Exception:
        portal.stop()
        raise
    return portal, url


@pytest.fixture(scope="module")
def portal(served_report: tuple[Settings, str]) -> Iterator[str]:
    settings, _ = served_report
    process, url = _start(settings)
    yield url
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    binary = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # without the page's CSP: the panel itself must keep hostile answers inert, and the
    # test's own evaluate() calls need eval
    context = browser.new_context(bypass_csp=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    tab.errors = errors
    yield tab
    context.close()


def _ask(page: Any, question: str) -> Any:
    before = page.locator("#turns .turn").count()
    page.fill("#question", question)
    page.click("#ask button[type=submit]")
    page.wait_for_function(
        f"document.querySelectorAll('#turns .turn').length > {before}",
        timeout=_ANSWER_TIMEOUT_MS,
    )
    return page.locator("#turns .turn").nth(before)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_index_report_chat_rating_and_reload(
    portal: str, page: Any, served_report: tuple[Settings, str]
) -> None:
    settings, report_id = served_report
    report_html = Path(settings.output_dir) / report_id / "report.html"
    before = _digest(report_html)
    page.goto(portal + "/")
    link = page.locator(f'a[href="/r/{report_id}/"]')
    assert link.count() == 1
    assert "$34.00" in page.locator("tbody tr").first.inner_text()
    link.click()
    page.wait_for_url(f"{portal}/r/{report_id}/")
    # the report itself is drawn inside its frame
    frame = page.frame_locator("#report-frame")
    frame.locator("h1").first.wait_for(timeout=30_000)

    turn = _ask(page, "select count(*) as n from cost")
    assert turn.locator(".sentence").inner_text() == "1 row(s) (LIMIT 200 added)."
    assert turn.locator("table th").all_inner_texts() == ["n"]
    assert turn.locator("table td").all_inner_texts() == ["6"]
    assert turn.locator("pre.sql").inner_text() == "SELECT COUNT(*) AS n FROM cost LIMIT 200"

    turn.locator("button[data-rate=good]").click()
    turn.locator(".rating .muted", has_text="Rated good.").wait_for(timeout=10_000)
    session_id = page.evaluate(f"localStorage.getItem('finops-session:{report_id}')")
    exported = CliRunner().invoke(
        cli,
        ["history", "export", "--format", "jsonl"],
        env={"FINOPS_HOME": str(settings.home)},
    )
    assert exported.exit_code == 0, exported.output
    logged = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    rated = [i for i in logged if i["user_query"] == "select count(*) as n from cost"]
    assert [(i["rating"], i["session_id"], i["report_id"]) for i in rated] == [
        (1, session_id, report_id)
    ]

    # the conversation survives a reload, and the next question continues the same session
    page.reload()
    page.locator("#turns .turn").first.wait_for(timeout=10_000)
    assert page.locator("#turns .turn .q").all_inner_texts() == ["select count(*) as n from cost"]
    _ask(page, "select sum(unblended_cost) as total from cost")
    assert page.evaluate(f"localStorage.getItem('finops-session:{report_id}')") == session_id
    # a suggested prompt is one click: asked by its number, shown with its own text
    prompt = page.locator("#prompts button").first
    text = prompt.inner_text()
    before_prompt = page.locator("#turns .turn").count()
    prompt.click()
    page.locator("#turns .turn").nth(before_prompt).wait_for(timeout=_ANSWER_TIMEOUT_MS)
    answered = page.locator("#turns .turn").nth(before_prompt)
    assert answered.locator(".q").inner_text() == text
    assert answered.get_attribute("data-mode") == "prompt"
    assert page.errors == []
    assert _digest(report_html) == before


@pytest.mark.hostile
def test_hostile_questions_are_refused_and_inert(
    portal: str, page: Any, served_report: tuple[Settings, str]
) -> None:
    settings, report_id = served_report
    report_html = Path(settings.output_dir) / report_id / "report.html"
    before = _digest(report_html)
    page.goto(f"{portal}/r/{report_id}/")
    hostile = [
        "<script>window.__pwned = true</script>",
        '<img src=x onerror="window.__pwned = true">',
        "/sql delete from cost",
        "/sql select * from read_text('/etc/passwd')",
        "/sql select '<img src=x onerror=\"window.__pwned = true\">' as x from cost",
    ]
    for question in hostile:
        turn = _ask(page, question)
        assert turn.locator(".q").inner_text() == question.removeprefix("/sql ")
    modes = page.locator("#turns .turn").evaluate_all("ts => ts.map(t => t.dataset.mode)")
    # markup as a question is refused by the offline interpreter; writes and file reads by the
    # guard; the last one is a legal SELECT whose hostile value is shown as text in a table cell
    assert modes == ["refusal", "refusal", "error", "error", "sql"]
    assert page.locator("#turns .refused").count() == 4
    assert "root:" not in page.locator("#turns").inner_text()
    assert page.locator("#turns img").count() == 0
    assert (
        page.locator("#turns td").last.inner_text() == '<img src=x onerror="window.__pwned = true">'
    )
    assert page.evaluate(_PWNED) is False
    assert page.errors == []
    assert _digest(report_html) == before


def test_a_token_protected_portal_refuses_requests_without_it(
    served_report: tuple[Settings, str], browser: Any
) -> None:
    settings, report_id = served_report
    process, url = _start(settings, token="browser-test-token")
    context = browser.new_context(bypass_csp=True)
    try:
        tab = context.new_page()
        assert tab.goto(url + "/").status == 401
        assert tab.goto(f"{url}/r/{report_id}/files/report.html").status == 401
        # a token link sets the cookie and drops the token from the address bar
        response = tab.goto(f"{url}/r/{report_id}/?token=browser-test-token")
        assert response.status == 200 and tab.url == f"{url}/r/{report_id}/"
        assert tab.goto(url + "/").status == 200
        # the cookie carries the token on the frame's request and the chat POST too
        assert tab.goto(f"{url}/r/{report_id}/").status == 200
        tab.frame_locator("#report-frame").locator("h1").first.wait_for(timeout=30_000)
        turn = _ask(tab, "select count(*) as n from cost")
        assert turn.locator("table td").all_inner_texts() == ["6"]
    finally:
        context.close()
        process.stop()


def test_a_series_answer_is_drawn_as_a_chart_under_the_page_policy(
    portal: str, browser: Any, served_report: tuple[Settings, str]
) -> None:
    _, report_id = served_report
    # the portal's own Content-Security-Policy applies here: only locators, no page eval
    context = browser.new_context()
    try:
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on(
            "response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        tab.goto(f"{portal}/r/{report_id}/")
        tab.fill(
            "#question",
            "select '2026-10-01' as day, sum(unblended_cost) as cost from cost union all "
            "select '2026-10-02' as day, sum(amortized_cost) as cost from cost order by day",
        )
        tab.click("#ask button[type=submit]")
        turn = tab.locator("#turns .turn").first
        turn.wait_for(timeout=_ANSWER_TIMEOUT_MS)
        assert turn.locator("table td").all_inner_texts() == [
            "2026-10-01",
            "34",
            "2026-10-02",
            "34",
        ]
        turn.locator(".chart svg.main-svg").first.wait_for(timeout=30_000)
        # the chart's x axis carries the two days
        ticks = turn.locator(".chart .xtick text").all_inner_texts()
        assert len(ticks) >= 2
        assert errors == []
    finally:
        context.close()
