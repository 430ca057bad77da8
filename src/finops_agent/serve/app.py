"""The reports portal: the index, each report with a chat panel, its files, and the chat endpoint."""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import ipaddress
import json
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import plotly
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from finops_agent.chat.session import ChatSession, ChatTurn
from finops_agent.report.render import environment
from finops_agent.reports.document import ChatTurnRecord, ReportDocumentError
from finops_agent.reports.folder import (
    LISTING_COLUMNS,
    InvalidReportIdError,
    ReportFolder,
    ReportNotFoundError,
    list_reports,
)
from finops_agent.resources import templates_dir
from finops_agent.settings import Settings

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_QUESTION_CHARS",
    "PortalConfigError",
    "check_bind",
    "create_app",
    "series_chart",
]

MAX_BODY_BYTES = 8192
MAX_QUESTION_CHARS = 2000
# questions per session per minute, and for the whole portal (session ids are the client's)
_SESSION_RATE = 10
_GLOBAL_RATE = 120
_RATE_WINDOW_S = 60.0
_OPEN_SESSIONS = 16
_SESSION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TOKEN_HEADER = "x-finops-token"
_TOKEN_COOKIE = "finops_token"
_STATIC = {"portal.js": "text/javascript", "portal.css": "text/css"}
# modes of a turn whose table is an answer (others are refusals, help or errors)
_ANSWERED = frozenset({"sql", "prompt", "model", "offline"})
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}(-\d{2})?([ T].*)?$")

# the wrapper page runs only the portal's own scripts (Plotly sets inline styles as it draws);
# the report inside is sandboxed apart
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)
# a report file runs its inline Plotly in an opaque origin: no cookies, no portal API
_FILE_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'none'; "
    "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; "
    "font-src data:; frame-ancestors 'self'"
)


class PortalConfigError(ValueError):
    """The portal's settings would expose it unsafely."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Refuse a non-loopback listen address without FINOPS_SERVE_TOKEN."""
    token = settings.serve_token.get_secret_value() if settings.serve_token else ""
    if not _is_loopback(settings.portal_host) and not token:
        raise PortalConfigError(
            f"FINOPS_PORTAL_HOST={settings.portal_host} listens beyond this machine: "
            "set FINOPS_SERVE_TOKEN (every request must then carry it), or use 127.0.0.1"
        )
    if settings.public_url and urlsplit(settings.public_url).scheme not in ("http", "https"):
        raise PortalConfigError(f"FINOPS_PUBLIC_URL={settings.public_url!r} is not an http(s) URL")


def series_chart(columns: list[str], rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A line chart spec when a result is a series: first column dates, others numbers."""
    if len(rows) < 2 or len(columns) < 2:
        return None
    x = columns[0]
    if not all(isinstance(r.get(x), str) and _DATE_LIKE.match(r[x]) for r in rows):
        return None
    numeric = [
        c
        for c in columns[1:]
        if all(isinstance(r.get(c), int | float) and not isinstance(r.get(c), bool) for r in rows)
    ]
    return {"x": x, "y": numeric} if numeric else None


def _same_secret(offered: str, token: str) -> bool:
    # bytes: compare_digest refuses non-ASCII text, and a client chooses what it offers
    return hmac.compare_digest(offered.encode("utf-8"), token.encode("utf-8"))


class _RateLimiter:
    """Sliding-window counts per key; thread-safe (chat endpoints run in the thread pool)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] > self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True


class _Sessions:
    """Open chat sessions, least recently used closed first; one question at a time each."""

    def __init__(self, settings: Settings, size: int = _OPEN_SESSIONS) -> None:
        self.settings = settings
        self.size = size
        self._open: OrderedDict[tuple[str, str], tuple[ChatSession, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, report_id: str, session_id: str | None) -> tuple[ChatSession, threading.Lock]:
        key = (report_id, session_id or "")
        with self._lock:
            if session_id and key in self._open:
                self._open.move_to_end(key)
                return self._open[key]
        session = ChatSession.from_settings(self.settings, report_id, session_id)
        entry = (session, threading.Lock())
        with self._lock:
            self._open[(report_id, session.session_id)] = entry
            while len(self._open) > self.size:
                _, (old, old_lock) = self._open.popitem(last=False)
                with old_lock:
                    old.close()
        return entry

    def close(self) -> None:
        with self._lock:
            for session, lock in self._open.values():
                with lock:
                    session.close()
            self._open.clear()


def _turn_json(turn: ChatTurn | ChatTurnRecord) -> dict[str, Any]:
    data = turn.model_dump(mode="json")
    columns = [str(c) for c in data.get("columns") or []]
    rows = [r for r in data.get("rows") or [] if isinstance(r, dict)]
    return {
        "interaction_id": data.get("interaction_id"),
        "session_id": data.get("session_id"),
        "question": str(data.get("question", "")),
        # older turns have no sentence: their answer (table included) is shown instead
        "sentence": str(data.get("sentence") or data.get("answer", "")),
        "mode": data.get("mode"),
        "sql": data.get("sql") if data.get("mode") != "help" else None,
        "columns": columns,
        "rows": rows,
        "row_count": data.get("row_count", len(rows)),
        "chart": series_chart(columns, rows) if data.get("mode") in _ANSWERED else None,
        "rating": data.get("rating"),
        "warnings": [str(w) for w in data.get("warnings") or []],
    }


def create_app(settings: Settings) -> Starlette:
    """The portal over settings.output_dir; refuses settings that would expose it unsafely."""
    check_bind(settings)
    output_dir = Path(settings.output_dir)
    token = settings.serve_token.get_secret_value() if settings.serve_token else ""
    sessions = _Sessions(settings)
    per_session = _RateLimiter(_SESSION_RATE, _RATE_WINDOW_S)
    overall = _RateLimiter(_GLOBAL_RATE, _RATE_WINDOW_S)
    pages = environment()
    public_origin = ""
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        public_origin = f"{parts.scheme}://{parts.netloc}"

    def folder_of(request: Request) -> Path:
        return ReportFolder.open(output_dir, str(request.path_params["report_id"])).path

    def html_page(template: str, **context: Any) -> HTMLResponse:
        body = pages.get_template(template).render(**context)
        return HTMLResponse(body, headers={"Content-Security-Policy": _PAGE_CSP})

    def refuse(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def same_origin(request: Request) -> bool:
        # a browser always sends Origin on a cross-site POST; a missing one is refused too
        origin = request.headers.get("origin", "")
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if not origin or origin not in {own, public_origin}:
            return False
        return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"

    async def json_body(request: Request) -> dict[str, Any] | JSONResponse:
        if not same_origin(request):
            return refuse(403, "cross-site request refused")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return refuse(415, "send the question as application/json")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            return refuse(413, f"request larger than {MAX_BODY_BYTES} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return refuse(413, f"request larger than {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(body)
        except ValueError:
            return refuse(400, "the body is not JSON")
        if not isinstance(data, dict):
            return refuse(400, "the body is not a JSON object")
        return data

    def session_id_of(value: Any) -> str | JSONResponse | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not _SESSION_ID.match(value):
            return refuse(400, "invalid session id")
        return value

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def no_icon(request: Request) -> Response:
        # browsers ask for it on every page; an empty answer keeps their consoles clean
        return Response(status_code=204)

    async def index(request: Request) -> Response:
        # the same rows as `finops list`; unreadable folders are listed with their problem
        rows = [entry.row() for entry in list_reports(output_dir)]
        return html_page("portal/index.html.j2", rows=rows, columns=LISTING_COLUMNS)

    async def report_page(request: Request) -> Response:
        folder = folder_of(request)
        prompts = [p.text for p in ReportFolder(folder).read().suggested_prompts]
        return html_page("portal/report.html.j2", report_id=folder.name, prompts=prompts)

    async def report_file(request: Request) -> Response:
        folder = folder_of(request)
        name = str(request.path_params["name"])
        parts = Path(name).parts
        if not parts or any(p.startswith(".") or p in ("..", "/") for p in parts):
            return refuse(404, "no such file")
        path = (folder / name).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            return refuse(404, "no such file")
        return FileResponse(path, headers={"Content-Security-Policy": _FILE_CSP})

    async def static(request: Request) -> Response:
        name = str(request.path_params["name"])
        if name == "plotly.min.js":
            path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
            return FileResponse(path, media_type="text/javascript")
        if name not in _STATIC:
            return refuse(404, "no such file")
        return FileResponse(templates_dir() / "portal" / name, media_type=_STATIC[name])

    def transcript(request: Request) -> Response:
        folder = folder_of(request)
        session_id = session_id_of(request.query_params.get("session"))
        if isinstance(session_id, JSONResponse):
            return session_id
        turns = [
            _turn_json(t)
            for t in ReportFolder(folder).read_transcript()
            if session_id and t.session_id == session_id
        ]
        return JSONResponse({"session_id": session_id, "turns": turns})

    async def ask(request: Request) -> Response:
        folder = folder_of(request)
        data = await json_body(request)
        if isinstance(data, JSONResponse):
            return data
        question = data.get("question")
        if not isinstance(question, str) or not question.strip():
            return refuse(400, "the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            return refuse(413, f"questions are limited to {MAX_QUESTION_CHARS} characters")
        session_id = session_id_of(data.get("session_id"))
        if isinstance(session_id, JSONResponse):
            return session_id
        if session_id and not per_session.allow(session_id):
            return refuse(429, "too many questions in this session: wait a minute")
        if not overall.allow("*"):
            return refuse(429, "too many questions: wait a minute")

        def answer() -> ChatTurn:
            session, lock = sessions.get(folder.name, session_id)
            with lock:
                return session.ask(question)

        turn = await run_in_threadpool(answer)
        return JSONResponse(_turn_json(turn))

    async def rate(request: Request) -> Response:
        folder = folder_of(request)
        data = await json_body(request)
        if isinstance(data, JSONResponse):
            return data
        session_id = session_id_of(data.get("session_id"))
        if isinstance(session_id, JSONResponse):
            return session_id
        interaction_id = data.get("interaction_id")
        good = data.get("good")
        if not session_id or not isinstance(interaction_id, str) or not isinstance(good, bool):
            return refuse(400, "send session_id, interaction_id and good (true or false)")

        def store_rating() -> JSONResponse:
            session, lock = sessions.get(folder.name, session_id)
            with lock:
                if interaction_id not in {t.interaction_id for t in session.turns}:
                    return refuse(404, "no such answer in this session")
                try:
                    session.rate(good, None, interaction_id)
                except (RuntimeError, ValueError) as exc:
                    return refuse(503, str(exc))
            return JSONResponse({"interaction_id": interaction_id, "rating": 1 if good else -1})

        return await run_in_threadpool(store_rating)

    async def token_gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if token and request.url.path != "/health":
            offered = request.query_params.get("token")
            if offered is not None and _same_secret(offered, token):
                # the token leaves the address bar (and the history) at once
                rest = {k: v for k, v in request.query_params.items() if k != "token"}
                target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
                response: Response = RedirectResponse(target, status_code=303)
                response.set_cookie(
                    _TOKEN_COOKIE,
                    token,
                    httponly=True,
                    samesite="strict",
                    secure=request.url.scheme == "https",
                    max_age=int(dt.timedelta(days=30).total_seconds()),
                )
                return response
            carried = request.headers.get(_TOKEN_HEADER) or request.cookies.get(_TOKEN_COOKIE)
            if not carried or not _same_secret(carried, token):
                return PlainTextResponse(
                    "This portal needs its token: open the link with ?token=… "
                    "or send the X-Finops-Token header.",
                    status_code=401,
                )
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response

    routes = [
        Route("/health", health),
        Route("/favicon.ico", no_icon),
        Route("/", index),
        Route("/static/{name}", static),
        Route("/r/{report_id}/", report_page),
        Route("/r/{report_id}/files/{name:path}", report_file),
        Route("/r/{report_id}/chat", transcript, methods=["GET"]),
        Route("/r/{report_id}/chat", ask, methods=["POST"]),
        Route("/r/{report_id}/rate", rate, methods=["POST"]),
    ]

    async def bad_id(request: Request, exc: Exception) -> Response:
        return refuse(400, "invalid report id: use an id from the index")

    async def not_found(request: Request, exc: Exception) -> Response:
        return refuse(404, "no such report")

    async def unreadable(request: Request, exc: Exception) -> Response:
        return refuse(500, "this report's files cannot be read; see the portal log")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        sessions.close()

    return Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=token_gate)],
        exception_handlers={
            InvalidReportIdError: bad_id,
            ReportNotFoundError: not_found,
            ReportDocumentError: unreadable,
        },
        lifespan=lifespan,
    )
