"""The devices edge: video inputs found by udev (:mod:`.discovery`), their signal (:mod:`.v4l2`,
:mod:`.inputs`) and the local preview through libVLC (:mod:`.preview`)."""
