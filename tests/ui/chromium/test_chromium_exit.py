"""Issue 12 item 9: when Debian's Chromium exits at start, the agent's log carries Chromium's own reason
from its stderr, not only "exited by itself (status 1)"."""

from __future__ import annotations

import dataclasses
import logging
import os

import pytest

from roomagent.ui.chromium.process import ChromiumProcess, exit_reason


def test_the_reason_is_the_last_error_line() -> None:
    tail = (b"[1:1:1203/081755.9:WARNING:a.cc(1)] chatty\n"
            b"[1:1:1203/081755.9:ERROR:zygote_host_impl_linux.cc(101)] Running as root without --no-sandbox "
            b"is not supported. See https://crbug.com/638180.\n\n")
    assert exit_reason(tail) == "Running as root without --no-sandbox is not supported. See https://crbug.com/638180."
    assert exit_reason(b"plain last words\n") == "plain last words"
    assert exit_reason(b"") == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="Chromium refuses to start without --no-sandbox only as root")
def test_chromium_that_exits_at_start_says_why_in_the_log(qtbot, chromium_options, caplog) -> None:
    options = dataclasses.replace(chromium_options, no_sandbox=False, headless=True)  # as root: refused
    process = ChromiumProcess(options)
    caplog.set_level(logging.WARNING, logger="roomagent.ui.chromium.process")
    with qtbot.waitSignal(process.exited, timeout=30_000):
        process.start((0, 0, 320, 240), False)
    try:
        line = next(r.getMessage() for r in caplog.records if "exited by itself" in r.getMessage())
        assert "Running as root without --no-sandbox is not supported" in line, line
    finally:
        process.stop()
    assert not os.path.exists(process.user_data_dir or "/nonexistent")
