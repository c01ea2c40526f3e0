"""``adapter_class`` resolves the adapter named by each platform record; an unknown name is an error."""

from __future__ import annotations

import pytest

from roomagent.core.platforms import PLATFORMS, UnknownPlatform
from roomagent.meeting import adapter_class
from roomagent.meeting.base import MeetingAdapter


@pytest.mark.parametrize("record", PLATFORMS, ids=lambda p: p.name)
def test_each_record_names_an_adapter_with_its_capabilities(record):
    cls = adapter_class(record.name)
    assert issubclass(cls, MeetingAdapter)
    assert cls.capabilities == record.capabilities


def test_an_unknown_platform_has_no_adapter():
    with pytest.raises(UnknownPlatform):
        adapter_class("zoom")
