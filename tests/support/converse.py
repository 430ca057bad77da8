"""A Bedrock Converse emulator on 127.0.0.1 whose canned replies depend on the request."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INVENTED = "$123,456.78"
TOP_SERVICES_SQL = (
    "select service_code, sum(unblended_cost) as unblended_cost from cost "
    "group by service_code order by unblended_cost desc"
)


def _text(message: dict[str, Any]) -> str:
    return "".join(block.get("text", "") for block in message.get("content", []))


def _json_after(marker: str, text: str) -> Any:
    body = text.split(marker, 1)[1]
    start = body.index("{")
    value, _ = json.JSONDecoder().raw_decode(body[start:])
    return value


def insight_reply(prompt: str) -> str:
    """Findings for every query with savings, a narrative citing the total and one invented sum."""
    context = _json_after("Context (JSON", prompt)
    total = context["totals"]["unblended_cost_usd"]
    findings = [
        {
            "title": f"Act on {q['title']}",
            "query": name,
            "evidence": f"{q['rows']} row(s) worth ${q['monthly_savings_usd']:,.2f} a month",
            "monthly_savings_usd": q["monthly_savings_usd"],
            "effort": "low",
            "risk": "low",
            "action": "Do what the query says.",
        }
        for name, q in context["queries"].items()
        if q.get("monthly_savings_usd")
    ]
    return json.dumps(
        {
            "narrative": f"## Summary\n\nThe window cost **${total:,.2f}**. "
            f"A rumour says {INVENTED} could be saved.",
            "findings": findings,
            "suggested_prompts": [{"text": "Which services cost the most?", "query": None}],
        }
    )


def sql_reply(prompt: str, repairing: bool) -> str:
    """SQL for the question; a question mentioning 'drop' gets unsafe SQL until it is repaired."""
    question = re.search(r"Question: (.*)", prompt)
    asked = question.group(1) if question else ""
    if "drop" in asked.lower() and not repairing:
        return json.dumps({"sql": "drop table cost", "explanation": "oops"})
    if "weather" in asked.lower():
        return json.dumps({"sql": None, "answer": "The cost data holds no weather."})
    return json.dumps({"sql": TOP_SERVICES_SQL, "explanation": "spend per service"})


def answer_reply(prompt: str) -> str:
    """An answer citing the first row of the result, plus one figure not in it."""
    result = _json_after("Result (", prompt)
    first = result["rows"][0]
    label = next(v for v in first.values() if isinstance(v, str))
    amount = next(
        v for k, v in first.items() if isinstance(v, float) and ("cost" in k or "saving" in k)
    )
    return f"{label} cost the most at ${amount:,.2f}. Next month it may reach {INVENTED}."


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        try:
            self._reply()
        except Exception as exc:  # a broken canned reply shows up as the test's error message
            data = json.dumps({"message": f"emulator: {exc!r}"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-ErrorType", "ValidationException")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def _reply(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body})  # type: ignore[attr-defined]
        messages = body["messages"]
        prompt = _text(messages[0])
        if "SQL that ran over `cost`" in prompt:
            text = answer_reply(prompt)
        elif "Table `cost`" in prompt:
            text = sql_reply(prompt, repairing=len(messages) > 1)
        else:
            text = insight_reply(prompt)
        reply = {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {
                "inputTokens": len(json.dumps(body)) // 4,
                "outputTokens": len(text) // 4,
                "totalTokens": len(json.dumps(body)) // 4 + len(text) // 4,
            },
            "metrics": {"latencyMs": 3},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def converse_emulator() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Serve the emulator on a free loopback port; yield (endpoint_url, received requests)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
