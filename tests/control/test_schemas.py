"""The shipped JSON Schemas match the models, and real messages validate against them."""

import json

import pytest

from roomagent.control.schemas import HERE, generate, render
from roomagent.core.commands import COMMAND, CommandReply, ReplyError
from roomagent.core.machine import RoomRules, initial_state
from roomagent.core.state import ScreenState


@pytest.mark.parametrize("name", sorted(generate()))
def test_committed_schema_is_current(name):
    committed = (HERE / name).read_text(encoding="utf-8")
    assert committed == render(generate()[name]), (
        f"{name} is stale: run `python -m roomagent.control.schemas` and commit the result")


def test_schemas_describe_every_action_and_the_state_keys():
    schemas = generate()
    actions = {variant["properties"]["action"]["const"]
               for variant in schemas["command.schema.json"]["$defs"].values() if "action" in variant["properties"]}
    assert {"leave", "mute", "unmute", "set_layout", "share_source", "stop_share", "preview_source",
            "stop_preview", "reload", "identify_screens", "show_message", "get_state"} <= actions
    state = schemas["state.schema.json"]
    assert set(state["required"]) == {"state", "meeting", "layout", "muted", "screens", "layouts", "capabilities",
                                      "warnings", "sources", "sharing", "previews", "reconnecting", "engine", "rendering", "codecs",
                         "version", "error"}


def test_real_messages_validate():
    import jsonschema
    schemas = generate()
    rules = RoomRules(allowed_hosts=("x.org",), screens=(ScreenState(id="a", role="main", media=True),))
    jsonschema.validate(initial_state(rules).snapshot(), schemas["state.schema.json"])
    command = json.loads(COMMAND.validate_json('{"action": "show_message", "text": "hi"}').model_dump_json())
    jsonschema.validate(command, schemas["command.schema.json"])
    reply = CommandReply(id="1", status="error", error=ReplyError(code="unsupported", message="no")).payload()
    jsonschema.validate(reply, schemas["reply.schema.json"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"action": "set_layout"}, schemas["command.schema.json"])
