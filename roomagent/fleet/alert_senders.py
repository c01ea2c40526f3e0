"""The alerts' channels: e-mail over SMTP (the standard library's smtplib, in a thread) and a webhook (a JSON
POST with httpx). Each sends a batch of notices as one message: a single alert, or a digest when several
waited (rate limit, quiet hours, many rooms at once)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import httpx

from roomagent import __version__
from roomagent.fleet.alerts import Notice, Sender, SendError
from roomagent.fleet.config import AlertsSection, EmailAlerts, WebhookAlerts


def compose(notices: list[Notice], dashboard_url: str = "") -> tuple[str, str]:
    """The subject and the text of one message for ``notices``."""
    if len(notices) == 1:
        n = notices[0]
        subject = f"[roomagent] {n.room}: {n.text}" if n.what == "alert" else f"[roomagent] {n.room} recovered: {n.text}"
    else:
        alerts = sum(1 for n in notices if n.what == "alert")
        subject = f"[roomagent] {alerts} alert(s), {len(notices) - alerts} recovery(ies)"
    lines = [n.line() for n in notices]
    if dashboard_url:
        rooms = sorted({n.room for n in notices})
        lines += [""] + [f"{dashboard_url.rstrip('/')}/rooms/{room}" for room in rooms[:20]]
    lines += ["", "-- ", f"roomagent fleet {__version__}"]
    return subject, "\n".join(lines) + "\n"


def _read_secret(path: str) -> str:
    return Path(path).read_text(encoding="utf-8").strip() if path else ""


class EmailSender(Sender):
    """One e-mail per batch to every address of ``to``."""

    name = "e-mail"

    def __init__(self, settings: EmailAlerts, dashboard_url: str = "") -> None:
        self.settings = settings
        self.dashboard_url = dashboard_url
        self._password = _read_secret(settings.password_file)  # read at start-up, never at import

    async def send(self, notices: list[Notice]) -> None:
        """Send one mail; SendError with the server's or the network's words."""
        subject, text = compose(notices, self.dashboard_url)
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = ", ".join(self.settings.to)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2])
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
        message.set_content(text)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with smtp:
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, self._password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"mail to {s.host}:{s.port} not sent: {exc}") from None


class WebhookSender(Sender):
    """One JSON POST per batch: ``{"text": ..., "alerts": [...]}``."""

    name = "webhook"

    def __init__(self, settings: WebhookAlerts, dashboard_url: str = "") -> None:
        self.settings = settings
        self.dashboard_url = dashboard_url
        self._token = _read_secret(settings.token_file)

    async def send(self, notices: list[Notice]) -> None:
        """POST the batch; SendError unless the receiver answers 2xx."""
        subject, text = compose(notices, self.dashboard_url)
        body = {"text": f"{subject}\n{text}", "alerts": [
            {"what": n.what, "room": n.room, "name": n.name, "building": n.building, "kind": n.kind,
             "problem": n.text, "started": n.started, "at": n.at} for n in notices]}
        headers = {"User-Agent": f"roomagent-fleet/{__version__}"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout_s, follow_redirects=False) as client:
                reply = await client.post(self.settings.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SendError(f"webhook {self._where()} not reached: {exc or type(exc).__name__}") from None
        if not reply.is_success:
            raise SendError(f"webhook {self._where()} answered {reply.status_code}")

    def _where(self) -> str:
        # The URL's path may hold the hook's secret (Slack, Mattermost): only scheme and host in the log.
        url = httpx.URL(self.settings.url)
        return f"{url.scheme}://{url.host}{':' + str(url.port) if url.port else ''}"


def senders_for(settings: AlertsSection) -> list[Sender]:
    """The configured channels."""
    out: list[Sender] = []
    if settings.email is not None:
        out.append(EmailSender(settings.email, settings.dashboard_url))
    if settings.webhook is not None:
        out.append(WebhookSender(settings.webhook, settings.dashboard_url))
    return out
