"""Generate docs/settings.md from the Settings model: `python -m finops_agent.settings_docs [PATH]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from finops_agent.settings import GROUPS, Settings, env_name, group_of, type_words

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
# defaults longer than this are listed under the table instead of inside it
_INLINE_DEFAULT = 60


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, SecretStr):
        return "**********"
    return value


def default_text(field: FieldInfo) -> str:
    """A setting's default as shown in the docs: JSON for lists and objects, `unset` for None."""
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    plain = _plain(value)
    if isinstance(plain, str):
        return plain
    return json.dumps(plain, separators=(", ", ": "))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The settings reference as markdown: one table of every setting, grouped by concern."""
    fields = Settings.model_fields
    lines = [
        "# Settings reference",
        "",
        "Generated from `src/finops_agent/settings.py` by `python -m finops_agent.settings_docs`;",
        "do not edit by hand (a test fails when this file is out of date).",
        "",
        "Every setting is read from an environment variable named `FINOPS_` plus its name in capitals,",
        "or from a `.env` file in the working folder; command-line options override both.",
        "Lists take comma-separated text (`a@example.com,b@example.com`) or a JSON array; objects",
        "take JSON. `finops config` prints the effective values with secrets masked. A bad value",
        "stops every command with one line naming the setting, the value and what is allowed,",
        "e.g. `FINOPS_INSIGHTS: 'bedrok' is not one of rules, bedrock` (exit code 2).",
        "",
        "| group | environment variable | type | default | description |",
        "|---|---|---|---|---|",
    ]
    long_defaults: list[tuple[str, str]] = []
    for group in GROUPS:
        for name, field in fields.items():
            if group_of(field) != group:
                continue
            default = default_text(field)
            if len(default) > _INLINE_DEFAULT:
                long_defaults.append((env_name(name), default))
                shown = "see below"
            elif field.get_default(call_default_factory=True) is None:
                shown = "unset"
            else:
                shown = f"`{_cell(default)}`"
            lines.append(
                f"| {group} | `{env_name(name)}` | {_cell(type_words(field.annotation))} "
                f"| {shown} | {_cell(field.description or '')} |"
            )
    lines += ["", "## Groups", ""]
    lines += [f"- **{group}**: {title}" for group, title in GROUPS.items()]
    if long_defaults:
        lines += ["", "## Long defaults", ""]
        for env, default in long_defaults:
            lines += [f"`{env}`:", "", "```json", default, "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    """Write the reference to the path given, or to docs/settings.md."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DOC_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    print(target)


if __name__ == "__main__":
    main()
