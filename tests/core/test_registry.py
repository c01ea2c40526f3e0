"""The command registry: every action defined once, names checked where they are made."""

import inspect

import pytest
from pydantic import BaseModel, ValidationError

from roomagent.control.ctl import _arguments, _parser
from roomagent.core import commands as cmd
from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.commands import COMMAND, COMMANDS, SPECS, Action, AdapterAction, Capability, ErrorCode
from roomagent.core.platforms import PLATFORMS


def test_every_action_has_one_record_and_one_model():
    assert set(SPECS) == set(Action)
    assert len(COMMANDS) == len(Action) == len({spec.model for spec in COMMANDS})
    for spec in COMMANDS:
        assert COMMAND.validate_python({"action": str(spec.action), **_sample(spec)}).action is spec.action


def test_a_capability_comes_with_the_words_that_refuse_it():
    for spec in COMMANDS:
        assert (spec.capability is None) == (spec.feature == ""), spec.action
    offered = set().union(*(p.capabilities for p in PLATFORMS))
    assert offered <= set(Capability)


def test_reply_code_typos_fail_where_the_value_is_made():
    fx.Reply(command_id="1", origin="panel", ok=False, code=ErrorCode.UNSUPPORTED)
    fx.Reply(command_id="1", origin="panel", ok=False, code="unsupported")  # the wire name is the value
    with pytest.raises(ValidationError):
        fx.Reply(command_id="1", origin="panel", ok=False, code="unsuported")
    with pytest.raises(ValidationError):
        ev.ActionDone(action=AdapterAction.MUTE, ok=False, code="faild")
    with pytest.raises(ValidationError):
        ev.ActionDone(action="mutee", ok=True)


def test_a_reply_is_ok_exactly_when_it_has_no_code():
    with pytest.raises(ValidationError):
        fx.Reply(command_id="1", origin="panel", ok=True, code=ErrorCode.FAILED)
    with pytest.raises(ValidationError):
        fx.Reply(command_id="1", origin="panel", ok=False)


def test_commands_and_effects_share_no_class_name():
    def models(module):
        return {name for name, obj in vars(module).items()
                if inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__ == module.__name__}

    assert models(cmd) & models(fx) == set()


def test_ctl_arguments_come_from_the_model_fields():
    assert _arguments(SPECS[Action.PREVIEW_SOURCE]) == [("screen", "screen", {}), ("source", "source", {})]
    assert _arguments(SPECS[Action.SHOW_MESSAGE]) == [
        ("text", "text", {}), ("seconds", "--seconds", {"type": float, "help": "how long (default 30)"})]
    assert _arguments(SPECS[Action.MUTE]) == []
    # Every action is a ctl sub-command that builds its model from the command line.
    parser = _parser()
    for spec in COMMANDS:
        args = parser.parse_args(["--broker", "mqtt://x", spec.action.value,
                                  *[str(v) for v in _sample(spec).values()]])
        assert args.action == spec.action


def _sample(spec) -> dict:
    """Valid values for an action's required fields (text, or a number for numeric fields)."""
    return {name: 1 if info.annotation in (int, float) else "a"
            for name, info in spec.arguments().items() if info.is_required()}
