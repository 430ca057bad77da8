"""A Bedrock Converse emulator on 127.0.0.1 that answers from its own fixture files.

Each scenario is a JSON file under tests/data/converse/ holding the model's replies, written
by hand from the dataset's ground truth (some deliberately wrong). The emulator reads a prompt
only to route it: which kind of call it is (insights, SQL, SQL repair, answer) and which
question was asked. It never copies a figure from the prompt into a reply, so a test that
sees a figure in the report sees the fixture's figure, checked against the data by the code
under test.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "converse"
_QUESTION = re.compile(r"^Question: (.*)$", re.MULTILINE)
_MODEL_PATH = re.compile(r"^/model/(?P<model>[^/]+)/converse$")


@dataclass(frozen=True)
class Scenario:
    """The replies of one named scenario: insights, SQL per question, repairs, answers."""

    name: str
    insights: dict[str, Any]
    sql: dict[str, dict[str, Any]]
    sql_repair: dict[str, dict[str, Any]]
    answers: dict[str, str]
    # token counts per kind of call, fixed so tests can price them exactly
    usage: dict[str, tuple[int, int]]


def load_scenario(name: str) -> Scenario:
    """The scenario stored in tests/data/converse/<name>.json."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return Scenario(
        name=name,
        insights=data["insights"],
        sql=data.get("sql", {}),
        sql_repair=data.get("sql_repair", {}),
        answers=data.get("answers", {}),
        usage={kind: (pair[0], pair[1]) for kind, pair in data["usage"].items()},
    )


def _text(message: dict[str, Any]) -> str:
    return "".join(block.get("text", "") for block in message.get("content", []))


def _question(prompt: str) -> str:
    # the history above may quote earlier questions; the one being asked comes last
    asked = _QUESTION.findall(prompt)
    if not asked:
        raise LookupError("the prompt names no question")
    return str(asked[-1]).strip()


def _pick(table: dict[str, Any], question: str, kind: str, scenario: str) -> Any:
    if question not in table:
        raise LookupError(f"scenario {scenario} has no {kind} reply for question {question!r}")
    return table[question]


def route(scenario: Scenario, messages: list[dict[str, Any]]) -> tuple[str, str]:
    """(kind, reply) for a Converse request: the fixture chosen by the call and the question."""
    prompt = _text(messages[0])
    if "SQL that ran over `cost`" in prompt:
        return "answer", str(_pick(scenario.answers, _question(prompt), "answer", scenario.name))
    if "Table `cost`" in prompt:
        # a second user turn is the application sending the guard's refusal back
        repairing = len(messages) > 1
        table = scenario.sql_repair if repairing else scenario.sql
        kind = "sql_repair" if repairing else "sql"
        return kind, json.dumps(_pick(table, _question(prompt), kind, scenario.name))
    if "Context (JSON" in prompt:
        return "insights", json.dumps(scenario.insights)
    raise LookupError(f"scenario {scenario.name}: not an insight, SQL or answer prompt")


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        try:
            self._reply()
        except Exception as exc:  # a missing fixture reply shows up as the test's error message
            self._send(400, {"message": f"emulator: {exc}"}, "ValidationException")

    def _send(self, status: int, payload: dict[str, Any], error: str = "") -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reply(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body})  # type: ignore[attr-defined]
        if not _MODEL_PATH.match(self.path):
            raise LookupError(f"{self.path} is not a Converse path (/model/<id>/converse)")
        scenario: Scenario = self.server.scenario  # type: ignore[attr-defined]
        kind, text = route(scenario, body["messages"])
        sent, written = scenario.usage[kind]
        # the Converse response shape: output.message, stopReason, usage, metrics
        self._send(
            200,
            {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {
                    "inputTokens": sent,
                    "outputTokens": written,
                    "totalTokens": sent + written,
                },
                "metrics": {"latencyMs": 3},
            },
        )

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def converse_emulator(scenario: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Serve `scenario` on a free loopback port; yield (endpoint_url, received requests)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.scenario = load_scenario(scenario)  # type: ignore[attr-defined]
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
