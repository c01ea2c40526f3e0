"""parse_command: bytes in, a command or an error reply out, never an exception."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roomagent.control.parse import parse_command
from roomagent.core.commands import (
    COMMAND,
    MAX_COMMAND_BYTES,
    CommandReply,
    ErrorCode,
    SetLayout,
    ShowMessage,
)
from tests.control.commands import EXAMPLES

#: Hypothesis examples x payloads per example = payloads through the parser (>= 10,000).
FUZZ_EXAMPLES = 200
FUZZ_BATCH = 50


def test_a_valid_command_becomes_its_model() -> None:
    assert parse_command(b'{"id": "a1", "action": "set_layout", "layout": "cameras"}') == SetLayout(
        id="a1", layout="cameras")
    assert parse_command('{"action": "show_message", "text": "Grüße"}'.encode()) == ShowMessage(text="Grüße")


@pytest.mark.parametrize(("payload", "request_id", "words"), [
    (b"", "", "not valid JSON"),
    (b'{"id": "x1", "action": ', "", "not valid JSON"),
    (b'["mute"]', "", "must be a JSON object"),
    (b'"mute"', "", "must be a JSON object"),
    (b'{"id": "x2"}', "x2", "no 'action'"),
    (b'{"id": "x3", "action": "dance"}', "x3", "unknown action 'dance'"),
    (b'{"id": "x4", "action": "mute", "volume": 3}', "x4", "unexpected field 'volume'"),
    (b'{"id": "x5", "action": "set_layout"}', "x5", "missing field 'layout'"),
    (b'{"id": "x6", "action": "set_layout", "layout": 5}', "x6", "field 'layout': Input should be a valid string"),
    (b'{"id": "x7", "action": "show_message", "text": "", "seconds": 0}', "x7", "(and 1 more problem)"),
    (b'{"id": "x8", "action": "mute", "meeting": "\xff"}', "", "not UTF-8"),
    (b'{"id": 5, "action": "mute"}', "", "field 'id'"),
    (b'{"id": "' + b"i" * 200 + b'", "action": 1}', "", "unknown action '1'"),
    (b"[" * 5000, "", "not valid JSON"),
])
def test_invalid_payloads_get_an_invalid_reply_in_words(payload: bytes, request_id: str, words: str) -> None:
    reply = parse_command(payload)
    assert isinstance(reply, CommandReply) and reply.status == "error"
    assert reply.error.code is ErrorCode.INVALID
    assert reply.id == request_id
    assert words in reply.error.message, reply.error.message


def test_size_limit_is_inclusive() -> None:
    command = b'{"id": "big", "action": "mute"}'
    at_limit = command[:-1] + b" " * (MAX_COMMAND_BYTES - len(command)) + b"}"
    assert len(at_limit) == MAX_COMMAND_BYTES
    assert parse_command(at_limit) == COMMAND.validate_json(command)
    too_big = parse_command(at_limit + b" ")
    assert isinstance(too_big, CommandReply) and too_big.error.code is ErrorCode.TOO_LARGE and too_big.id == ""
    assert str(MAX_COMMAND_BYTES) in too_big.error.message


def test_user_input_is_quoted_only_in_short() -> None:
    reply = parse_command(json.dumps({"id": "q", "action": "z" * 5000}).encode())
    assert len(reply.error.message) < 400


# ----- fuzz ---------------------------------------------------------------------------------------------
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_flat = _scalars | st.lists(_scalars, max_size=3) | st.dictionaries(st.text(max_size=8), _scalars, max_size=3)
# Two levels of nesting, spelled out: st.recursive makes generation several times slower.
_json = _flat | st.lists(_flat, max_size=3) | st.dictionaries(st.text(max_size=8), _flat, max_size=3)
# Field values: cheap to generate (the fuzz must stay fast) yet covering every wrong type.
_values = _scalars | st.lists(_scalars, max_size=2) | st.text(alphabet="abc-_019", max_size=70)
_fields = st.sampled_from(["id", "action", "layout", "text", "seconds", "screen", "source", "meeting", "extra"])
_command_like = st.builds(
    lambda action, base, changes: {"action": action, **base, **changes},
    st.sampled_from([*EXAMPLES, "dance", "", "MUTE"]),
    st.sampled_from(list(EXAMPLES.values())),
    st.dictionaries(_fields, _values, max_size=3),
)


def _encoded(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


_payloads = st.one_of(
    st.binary(max_size=120),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    _json.map(_encoded),
    _command_like.map(_encoded),
    # Cut short, or with bytes inserted, at a position drawn independently of the length (no flatmap:
    # it makes generation several times slower).
    st.tuples(_command_like.map(_encoded), st.integers(0, 200)).map(lambda t: t[0][:t[1] % (len(t[0]) + 1)]),
    st.tuples(_command_like.map(_encoded), st.integers(0, 200), st.binary(min_size=1, max_size=3)).map(
        lambda t: t[0][:t[1] % (len(t[0]) + 1)] + t[2] + t[0][t[1] % (len(t[0]) + 1):]),
    st.integers(-3, 3).map(lambda d: b'{"action": "mute", "id": "s"' + b" " * (MAX_COMMAND_BYTES - 31 + d) + b"}"),
)


def _check(raw: bytes, outcomes: Counter) -> None:
    result = parse_command(raw)
    if isinstance(result, CommandReply):
        assert result.status == "error" and result.error is not None
        assert result.error.code in (ErrorCode.INVALID, ErrorCode.TOO_LARGE)
        assert (result.error.code is ErrorCode.TOO_LARGE) == (len(raw) > MAX_COMMAND_BYTES)
        assert result.error.message and "Traceback" not in result.error.message
        assert len(result.id) <= 128
        json.dumps(result.payload())  # always sendable
        outcomes[result.error.code.value] += 1
    else:
        assert result == COMMAND.validate_python(result.model_dump())  # a real, valid command
        assert len(raw) <= MAX_COMMAND_BYTES
        outcomes["command"] += 1


def test_ten_thousand_generated_payloads_each_give_a_command_or_an_error_reply() -> None:
    outcomes: Counter = Counter()

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(_payloads, min_size=FUZZ_BATCH, max_size=FUZZ_BATCH))
    def run(batch: list[bytes]) -> None:
        for raw in batch:
            _check(raw, outcomes)

    run()
    assert sum(outcomes.values()) >= 10_000, outcomes
    # Every branch was exercised, not just the garbage one.
    assert outcomes["command"] > 200 and outcomes["invalid"] > 2000 and outcomes["too_large"] > 10, outcomes
