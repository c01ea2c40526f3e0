"""Command payloads for the MQTT tests: one valid example per action, and a seeded payload fuzzer."""

from __future__ import annotations

import json
import random
import typing

from roomagent.core.commands import MAX_COMMAND_BYTES, Command


def all_actions() -> set[str]:
    """Every action the command models know (so a new action without an example fails a test)."""
    union = typing.get_args(Command)[0]
    return {model.model_fields["action"].default for model in typing.get_args(union)}


#: One valid command per action (without id).
EXAMPLES: dict[str, dict] = {
    "leave": {},
    "mute": {},
    "unmute": {},
    "set_layout": {"layout": "cameras"},
    "share_source": {"source": "hdmi1"},
    "stop_share": {},
    "preview_source": {"screen": "left", "source": "hdmi1"},
    "stop_preview": {},
    "reload": {"screen": "left"},
    "identify_screens": {},
    "show_message": {"text": "We start in 5 minutes", "seconds": 60},
    "get_state": {"meeting": "m-42"},
}


def _random_json(rnd: random.Random, depth: int = 0):
    pick = rnd.randrange(9 if depth < 3 else 6)
    if pick == 0:
        return None
    if pick == 1:
        return rnd.choice([True, False])
    if pick == 2:
        return rnd.choice([0, -1, 2**70, 3.5, 1e308, -0.0])
    if pick == 3:
        return "".join(chr(rnd.choice([rnd.randrange(32, 127), rnd.randrange(0x80, 0x2FFF)]))
                       for _ in range(rnd.randrange(0, 12)))
    if pick == 4:
        return rnd.choice(["", "left", "hdmi1", "cameras", "UPPER", "a" * 300])
    if pick == 5:
        return rnd.choice(list(EXAMPLES))
    if pick in (6, 7):
        return [_random_json(rnd, depth + 1) for _ in range(rnd.randrange(0, 4))]
    return {_key(rnd): _random_json(rnd, depth + 1) for _ in range(rnd.randrange(0, 4))}


def _key(rnd: random.Random) -> str:
    return rnd.choice(["id", "action", "layout", "text", "seconds", "screen", "source", "meeting", "x", "Id"])


def fuzz_payloads(count: int, seed: int) -> list[bytes]:
    """``count`` payloads: valid commands, near misses of every kind, garbage, and a few oversized."""
    rnd = random.Random(seed)
    out: list[bytes] = []
    for n in range(count):
        action = rnd.choice(list(EXAMPLES))
        command = {"id": f"f{n}", "action": action, **EXAMPLES[action]}
        kind = rnd.randrange(10)
        if kind == 1:  # drop a key
            command.pop(rnd.choice(list(command)))
        elif kind == 2:  # extra or renamed key
            command[_key(rnd) + rnd.choice(["", "_extra"])] = _random_json(rnd)
        elif kind == 3:  # a field of the wrong type or out of range
            command[rnd.choice(list(command))] = _random_json(rnd)
        elif kind == 4:
            out.append(bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 40))))
            continue
        elif kind == 5:
            out.append(json.dumps(_random_json(rnd)).encode())
            continue
        raw = json.dumps(command).encode()
        if kind == 6:  # truncated
            raw = raw[: rnd.randrange(len(raw))]
        elif kind == 7:  # a byte that is not UTF-8 inside a string
            raw = raw.replace(b'"f', b'"\xff', 1)
        elif kind == 8 and rnd.random() < 0.05:  # oversized
            raw = raw[:-1] + b", " + b" " * MAX_COMMAND_BYTES + b"}"
        out.append(raw)
    return out
