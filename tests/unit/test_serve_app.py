"""The reports portal through Starlette's TestClient: ids, files, token, CSRF, size and rate limits."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from finops_agent.serve.app import (
    MAX_BODY_BYTES,
    PortalConfigError,
    check_bind,
    create_app,
    series_chart,
)
from finops_agent.settings import Settings, SettingValueError, load_settings
from finops_agent.store.sqlite import SQLiteStore
from tests import tiny
from tests.support.reports import make_report

ORIGIN = "http://testserver"
SESSION = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    root = tmp_path_factory.mktemp("portal")
    source = tiny.write("cur2", root / "data")
    settings = load_settings(output_dir=root / "reports", home=root / "home")
    report_id = make_report(settings, source)
    # a secret beside the reports folder, and a report folder that is a symlink to it
    (root / "secret").mkdir()
    (root / "secret" / "report.json").write_text(json.dumps({"report_id": "escape"}))
    (root / "secret" / "report.html").write_text("SECRET")
    os.symlink(root / "secret", root / "reports" / "escape")
    os.symlink(root / "secret" / "report.html", root / "reports" / report_id / "linked.html")
    return settings, report_id


@pytest.fixture
def client(portal: tuple[Settings, str]) -> Iterator[TestClient]:
    settings, _ = portal
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _ask(client: TestClient, report_id: str, question: str, **headers: str) -> object:
    return client.post(
        f"/r/{report_id}/chat",
        json={"question": question, "session_id": SESSION},
        headers={"Origin": ORIGIN, **headers},
    )


def test_index_lists_the_report_with_the_list_columns(
    client: TestClient, portal: tuple[Settings, str]
) -> None:
    _, report_id = portal
    page = client.get("/")
    assert page.status_code == 200
    assert f'href="/r/{report_id}/"' in page.text
    # the tiny dataset's October window (a whole month is written as the month) and its total
    assert "<td>2026-10</td>" in page.text and "$34.00" in page.text
    # the folder symlinked out of the reports folder is listed without a link or its path
    assert "<td>escape</td>" in page.text and 'href="/r/escape/"' not in page.text
    assert "secret" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_report_page_frames_report_html_which_is_served_unchanged_and_sandboxed(
    client: TestClient, portal: tuple[Settings, str]
) -> None:
    settings, report_id = portal
    page = client.get(f"/r/{report_id}/")
    assert page.status_code == 200 and f'src="/r/{report_id}/files/report.html"' in page.text
    served = client.get(f"/r/{report_id}/files/report.html")
    on_disk = (Path(settings.output_dir) / report_id / "report.html").read_bytes()
    assert served.content == on_disk
    assert served.headers["content-security-policy"].startswith("sandbox allow-scripts")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/r/..%2Fsecret/", 404),  # an encoded slash never reaches the id: no route matches
        ("/r/.hidden/", 400),  # not a report id
        ("/r/escape/", 400),  # a report folder symlinked outside the reports folder
        ("/r/escape/files/report.html", 400),
        ("/r/no-such-report/", 404),
    ],
)
def test_report_ids_that_leave_the_reports_folder_are_refused(
    client: TestClient, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert "SECRET" not in response.text


@pytest.mark.parametrize(
    "name",
    [
        "../../secret/report.html",  # traversal out of the report folder
        "linked.html",  # a symlink inside the folder that points outside
        ".chat.lock",  # hidden bookkeeping files
        "nothing.html",
    ],
)
def test_files_outside_the_report_folder_are_not_served(
    client: TestClient, portal: tuple[Settings, str], name: str
) -> None:
    _, report_id = portal
    response = client.get(f"/r/{report_id}/files/{name}")
    assert response.status_code == 404 and "SECRET" not in response.text


def test_question_is_answered_with_sentence_table_sql_and_kept_for_the_session(
    client: TestClient, portal: tuple[Settings, str]
) -> None:
    _, report_id = portal
    response = _ask(client, report_id, "select count(*) as n from cost")
    assert response.status_code == 200, response.text
    turn = response.json()
    assert turn["sentence"] == "1 row(s) (LIMIT 200 added)."
    assert (turn["columns"], turn["rows"]) == (["n"], [{"n": 6}])
    assert turn["sql"] == "SELECT COUNT(*) AS n FROM cost LIMIT 200"
    assert turn["session_id"] == SESSION
    again = client.get(f"/r/{report_id}/chat", params={"session": SESSION}).json()
    assert turn["interaction_id"] in [t["interaction_id"] for t in again["turns"]]


def test_rating_reaches_the_interaction_store(
    client: TestClient, portal: tuple[Settings, str]
) -> None:
    settings, report_id = portal
    turn = _ask(client, report_id, "select sum(unblended_cost) as total from cost").json()
    rated = client.post(
        f"/r/{report_id}/rate",
        json={"session_id": SESSION, "interaction_id": turn["interaction_id"], "good": False},
        headers={"Origin": ORIGIN},
    )
    assert rated.status_code == 200, rated.text
    logged = SQLiteStore(settings.log_path).get(turn["interaction_id"])
    assert logged is not None
    assert (logged.rating, logged.session_id, logged.report_id) == (-1, SESSION, report_id)
    unknown = client.post(
        f"/r/{report_id}/rate",
        json={"session_id": SESSION, "interaction_id": "not-an-answer", "good": True},
        headers={"Origin": ORIGIN},
    )
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),  # no Origin at all
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"}, 403),
    ],
)
def test_cross_site_chat_posts_are_refused(
    client: TestClient, portal: tuple[Settings, str], headers: dict[str, str], status: int
) -> None:
    _, report_id = portal
    response = client.post(
        f"/r/{report_id}/chat", json={"question": "select 1 from cost"}, headers=headers
    )
    assert response.status_code == status
    assert response.json() == {"error": "cross-site request refused"}


def test_form_posts_and_oversized_bodies_are_refused(
    client: TestClient, portal: tuple[Settings, str]
) -> None:
    _, report_id = portal
    form = client.post(f"/r/{report_id}/chat", data={"question": "x"}, headers={"Origin": ORIGIN})
    assert form.status_code == 415
    big = _ask(client, report_id, "x" * (MAX_BODY_BYTES + 1))
    assert big.status_code == 413
    long = _ask(client, report_id, "y" * 2001)
    assert long.status_code == 413 and "2000 characters" in long.json()["error"]
    bad_session = client.post(
        f"/r/{report_id}/chat",
        json={"question": "1", "session_id": "../../x"},
        headers={"Origin": ORIGIN},
    )
    assert bad_session.status_code == 400


def test_questions_are_rate_limited_per_session(portal: tuple[Settings, str]) -> None:
    settings, report_id = portal
    with TestClient(create_app(settings)) as client:
        codes = [
            _ask(client, report_id, "select count(*) as n from cost").status_code for _ in range(11)
        ]
    assert codes == [200] * 10 + [429]


def test_token_is_required_on_every_request_and_a_token_link_sets_a_cookie(
    portal: tuple[Settings, str],
) -> None:
    settings, report_id = portal
    guarded = settings.model_copy(update={"serve_token": SecretStr("s3cret-token")})
    with TestClient(create_app(guarded), follow_redirects=False) as client:
        assert client.get("/").status_code == 401
        assert client.get(f"/r/{report_id}/files/report.html").status_code == 401
        assert client.get("/", headers={"X-Finops-Token": "wrong"}).status_code == 401
        assert client.get("/?token=n%C3%A4h").status_code == 401  # not ASCII: refused, no error
        assert client.get("/health").status_code == 200
        link = client.get(f"/r/{report_id}/?token=s3cret-token")
        assert link.status_code == 303 and link.headers["location"] == f"/r/{report_id}/"
        assert (
            "HttpOnly" in link.headers["set-cookie"]
            and "SameSite=strict" in link.headers["set-cookie"]
        )
        # the cookie now carries the token
        assert client.get("/").status_code == 200
    with TestClient(create_app(guarded)) as client:
        assert client.get("/", headers={"X-Finops-Token": "s3cret-token"}).status_code == 200


def test_listening_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(PortalConfigError, match=r"FINOPS_PORTAL_HOST=0\.0\.0\.0 listens beyond"):
        check_bind(load_settings(portal_host="0.0.0.0"))
    check_bind(load_settings(portal_host="0.0.0.0", serve_token="t"))
    check_bind(load_settings(portal_host="::1"))
    with pytest.raises(SettingValueError, match=r"public_url: 'javascript:x' is not an http"):
        load_settings(public_url="javascript:x")


@pytest.mark.parametrize(
    ("columns", "rows", "chart"),
    [
        # monthly totals: a series
        (
            ["month", "cost"],
            [{"month": "2026-09", "cost": 1.0}, {"month": "2026-10", "cost": 2.5}],
            {"x": "month", "y": ["cost"]},
        ),
        # daily, with a text column that is not plotted
        (
            ["day", "service", "cost"],
            [
                {"day": "2026-10-01", "service": "EC2", "cost": 1},
                {"day": "2026-10-02", "service": "S3", "cost": 2},
            ],
            {"x": "day", "y": ["cost"]},
        ),
        # categories are not a series
        (["service", "cost"], [{"service": "EC2", "cost": 1}, {"service": "S3", "cost": 2}], None),
        # one point is not a series
        (["month", "cost"], [{"month": "2026-10", "cost": 1}], None),
    ],
)
def test_series_chart_only_for_date_series(
    columns: list[str], rows: list[dict[str, object]], chart: dict[str, object] | None
) -> None:
    assert series_chart(columns, rows) == chart


def test_email_carries_the_served_link_and_the_chat_only_when_asked(
    portal: tuple[Settings, str],
) -> None:
    from finops_agent.chat.transcript import load_transcript
    from finops_agent.report.email import compose_email

    settings, report_id = portal
    folder = Path(settings.output_dir) / report_id
    question = "select count(*) as n from cost -- emailed?"
    with TestClient(create_app(settings)) as client:
        assert _ask(client, report_id, question).status_code == 200
    served = settings.model_copy(update={"public_url": "https://finops.example.org/"})
    assert served.served_report_url(report_id) == f"https://finops.example.org/r/{report_id}/"

    def text_of(**extra: object) -> str:
        message = compose_email(
            folder,
            sender="finops@example.com",
            recipients=["team@example.com"],
            max_bytes=20_000_000,
            with_images=False,
            **extra,  # type: ignore[arg-type]
        ).message
        part, html = message.get_body(("plain",)), message.get_body(("html",))
        assert part is not None and html is not None
        return str(part.get_content()) + str(html.get_content())

    plain = text_of()
    assert "emailed?" not in plain and "CHAT TRANSCRIPT" not in plain
    assert "Chat transcript" not in plain
    linked = text_of(served_url=served.served_report_url(report_id))
    assert f"ask questions: https://finops.example.org/r/{report_id}/" in linked
    with_chat = text_of(chat=load_transcript(Path(settings.output_dir), report_id))
    assert "CHAT TRANSCRIPT" in with_chat and f"Q: {question}" in with_chat
    assert "Chat transcript</h2>" in with_chat
