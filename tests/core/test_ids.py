"""One id pattern: the profile, the fleet's room list, the directory client and the directory's Room-Id
header all accept and refuse the same room ids."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from roomagent.core.ids import NAME, ROOM_ID
from roomagent.directory.client import DirectoryClient
from roomagent.fleet.config import RoomEntry
from roomagent.profile import RoomSection

GOOD = ["h0104", "a", "0", "lecture-hall-1", "r" * 64]
BAD = ["", "-h0104", "H0104", "h_0104", "room/one", "r" * 65, "h 0104", "höhe"]


@pytest.mark.parametrize("room_id", GOOD)
def test_every_part_takes_a_good_room_id(room_id):
    assert ROOM_ID.match(room_id)
    RoomSection(id=room_id, name="Room")
    RoomEntry(id=room_id)
    DirectoryClient("http://127.0.0.1:9", room_id=room_id).close()


@pytest.mark.parametrize("room_id", BAD)
def test_every_part_refuses_a_bad_room_id(room_id):
    assert not ROOM_ID.match(room_id)
    with pytest.raises(ValidationError, match="lower-case letters, digits and dashes"):
        RoomSection(id=room_id, name="Room")
    with pytest.raises(ValidationError):
        RoomEntry(id=room_id)
    with pytest.raises(ValueError, match="room id"):
        DirectoryClient("http://127.0.0.1:9", room_id=room_id)


def test_names_of_parts_also_take_underscores():
    assert NAME.match("hdmi_1") and not ROOM_ID.match("hdmi_1")
    assert not NAME.match("_hdmi")
