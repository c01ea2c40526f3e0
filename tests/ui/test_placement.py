from roomagent.ui.placement import place_screens


def test_named_outputs_win_and_unnamed_take_free_displays():
    got = place_screens([("left", "HDMI-2"), ("right", None)], ["HDMI-1", "HDMI-2"])
    assert [(p.screen_id, p.display, p.warning) for p in got] == [("left", 1, ""), ("right", 0, "")]


def test_missing_output_falls_back_by_position_with_a_warning():
    got = place_screens([("left", "HDMI-1"), ("right", "HDMI-9")], ["HDMI-1", "DP-1"])
    assert got[1].display == 1 and "HDMI-9 not found" in got[1].warning


def test_panel_display_is_skipped_and_a_screen_without_display_is_hidden():
    got = place_screens([("a", None), ("b", None)], ["DSI-1", "HDMI-1"], reserved=frozenset({0}))
    assert [p.display for p in got] == [1, None] and "hidden" in got[1].warning
    assert place_screens([("a", None)], [])[0].display is None
