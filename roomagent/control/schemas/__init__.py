"""JSON Schemas of the MQTT contract, generated from the pydantic models and shipped beside this file.

Regenerate with ``python -m roomagent.control.schemas``; a test fails when the committed files are stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter

from roomagent.core.commands import Command, CommandReply
from roomagent.core.state import StateSnapshot

HERE = Path(__file__).parent
_BASE = "https://roomagent.invalid/schemas/"


def generate() -> dict[str, dict]:
    """File name -> schema, for the command (``command`` topic), the reply and the retained state."""
    models = {
        "command.schema.json": (TypeAdapter(Command), "A command sent to roomagent/<room>/command"),
        "reply.schema.json": (TypeAdapter(CommandReply), "The reply to every command"),
        "state.schema.json": (TypeAdapter(StateSnapshot), "The retained roomagent/<room>/state message"),
    }
    out = {}
    for name, (adapter, title) in models.items():
        schema = adapter.json_schema(mode="validation")
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": _BASE + name,
                  "title": title, **{k: v for k, v in schema.items() if k != "title"}}
        out[name] = schema
    return out


def render(schema: dict) -> str:
    """The committed text of one schema (stable key order, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(folder: Path = HERE) -> list[Path]:
    """Write every schema into ``folder``; returns the files."""
    written = []
    for name, schema in generate().items():
        path = folder / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
