"""Text cut for the dashboard's pages is marked, and stays text (roomagent/fleet/render.py)."""

from __future__ import annotations

from roomagent.fleet.render import clip


def test_clip_marks_every_cut_and_escapes():
    assert clip(None) == "" and clip("short", 10) == "short" and clip("x" * 10, 10) == "x" * 10
    assert clip("<b>", 10) == "&lt;b&gt;"  # text stays text
    assert clip("abcdefghijkl", 5) == '<span class="clipped" title="abcdefghijkl">abcd…</span>'
    assert clip('"><script>', 4) == '<span class="clipped" title="&#34;&gt;&lt;script&gt;">&#34;&gt;&lt;…</span>'
    # Cut by the model already (at its storage bound): marked, though nothing more is known.
    assert clip("abc…", 10) == '<span class="clipped" title="abc…">abc…</span>'
