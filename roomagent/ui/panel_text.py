"""The touch panel's words, in English and German (looked up with :func:`roomagent.ui.i18n.tr`).
Errors are said the way a teacher needs them: what happened and what to do next, never an exception
name."""

from __future__ import annotations

PANEL_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Join a meeting",
        "hint": "In your meeting, choose “invite room” and type the code here.",
        "placeholder": "_",
        "clear": "Clear",
        "backspace": "⌫",
        "join": "Join",
        "cancel": "Cancel",
        "redeeming": "Checking the code…",
        "joining": "Opening the meeting on {n} screens…",
        "leaving": "Leaving the meeting…",
        "connected": "Connected to {host}",
        "connected_since": "since {time}",
        "leave": "Leave meeting",
        "leave_short": "Leave",
        "mute": "Mute room",
        "unmute": "Unmute room",
        "muted": "The room microphone is muted",
        "unmuted": "The room microphone is on",
        "layout": "Layout",
        "screens": "Screens:",
        "no_controls": "Muting and layouts are not available for this meeting; use the meeting's own controls.",
        "not_symbol": "“{symbol}” is not used in codes (no 0, O, 1, I or L).",
        "err.code_malformed": "A code has 9 characters, like K7M-4QX-9TB.",
        "err.code_not_found": "This code is unknown or has expired. Check it, or create a new one in the meeting.",
        "err.rate_limited": "Too many attempts. Please wait {seconds} s.",
        "err.directory_unavailable": "The room cannot reach the meeting directory. Try again in a moment; "
        "if this persists, call AV support.",
        "err.directory_bad_response": "The meeting directory gave an answer the room does not understand. "
        "Please call AV support.",
        "err.host_not_allowed": "This meeting runs on {detail}, which this room is not allowed to open.",
        "err.link_not_direct": "This code leads to a meeting lobby, not a meeting. "
        "Use “invite room” inside the meeting.",
        "err.join_failed": "The meeting could not be opened. Please try again.",
        "err.join_timeout": "The meeting took too long to open. Please try again.",
        "err.screen_failed": "A room screen stopped working ({detail}). AV support has been notified.",
        "err.meeting_ended": "The meeting has ended.",
        "err.unsupported": "{detail}",
        "err.generic": "Something went wrong: {detail}",
    },
    "de": {
        "title": "Einer Besprechung beitreten",
        "hint": "Wählen Sie in Ihrer Besprechung „Raum einladen“ und geben Sie den Code hier ein.",
        "placeholder": "_",
        "clear": "Löschen",
        "backspace": "⌫",
        "join": "Beitreten",
        "cancel": "Abbrechen",
        "redeeming": "Code wird geprüft …",
        "joining": "Besprechung wird auf {n} Bildschirmen geöffnet …",
        "leaving": "Besprechung wird verlassen …",
        "connected": "Verbunden mit {host}",
        "connected_since": "seit {time}",
        "leave": "Besprechung verlassen",
        "leave_short": "Verlassen",
        "mute": "Raum stummschalten",
        "unmute": "Stummschaltung aufheben",
        "muted": "Das Raummikrofon ist stummgeschaltet",
        "unmuted": "Das Raummikrofon ist an",
        "layout": "Ansicht",
        "screens": "Bildschirme:",
        "no_controls": "Stummschalten und Ansichten sind für diese Besprechung nicht verfügbar; nutzen Sie die "
        "Bedienelemente der Besprechung.",
        "not_symbol": "„{symbol}“ kommt in Codes nicht vor (kein 0, O, 1, I oder L).",
        "err.code_malformed": "Ein Code hat 9 Zeichen, z. B. K7M-4QX-9TB.",
        "err.code_not_found": "Dieser Code ist unbekannt oder abgelaufen. Prüfen Sie ihn oder erzeugen Sie "
        "in der Besprechung einen neuen.",
        "err.rate_limited": "Zu viele Versuche. Bitte warten Sie {seconds} s.",
        "err.directory_unavailable": "Der Raum erreicht das Besprechungsverzeichnis nicht. Versuchen Sie es "
        "gleich noch einmal; hält das an, rufen Sie den Medien-Support.",
        "err.directory_bad_response": "Das Besprechungsverzeichnis hat unverständlich geantwortet. "
        "Bitte rufen Sie den Medien-Support.",
        "err.host_not_allowed": "Diese Besprechung läuft auf {detail}; dieser Raum darf sie nicht öffnen.",
        "err.link_not_direct": "Dieser Code führt zu einer Lobby, nicht zu einer Besprechung. "
        "Nutzen Sie „Raum einladen“ in der Besprechung.",
        "err.join_failed": "Die Besprechung konnte nicht geöffnet werden. Bitte versuchen Sie es erneut.",
        "err.join_timeout": "Das Öffnen der Besprechung dauerte zu lange. Bitte versuchen Sie es erneut.",
        "err.screen_failed": "Ein Raumbildschirm funktioniert nicht mehr ({detail}). Der Medien-Support "
        "wurde benachrichtigt.",
        "err.meeting_ended": "Die Besprechung ist beendet.",
        "err.unsupported": "{detail}",
        "err.generic": "Etwas ist schiefgegangen: {detail}",
    },
}

