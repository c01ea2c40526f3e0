"""The kiosk session around the agent: the sway compositor's configuration and what sway reports.

:mod:`roomagent.session.sway` writes the locked-down sway configuration from the room profile
(``roomagent kiosk-config``); :mod:`roomagent.session.swayipc` asks a running sway about its outputs,
inputs and windows (``roomagent doctor``, the Chromium engine's placement, the tests).
"""
