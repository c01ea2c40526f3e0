"""The invite service: the BigBlueButton plugin's backend, run next to a BBB server (``roomagent invite``).

It holds what must never reach a browser (the BBB API secret, one directory bearer token per
institution), checks that the caller is a moderator of a running meeting (:mod:`.identity`), creates a
distinct room user's join URL and hands it to the chosen directory for a code, and relays commands to
the room through the directory's meeting-scoped relay. Contract: README "The invite service".
"""
