"""The public-URL half of ``roomagent invite check``: the plugin manifest, the invite service, nginx in
front of it, the browser's cookie reaching it, and the directories (see :mod:`roomagent.invite.check`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from roomagent.invite.check import Joined, Probe, StepFailed, Verdict, shown
from roomagent.invite.check_manifest import PARSER_OF_SHAPE, Finding, check_manifest
from roomagent.invite.diagnostics import ECHO_PATH

#: Where the shipped nginx snippet (kiosk/nginx/roomagent-invite.nginx) maps the service.
SERVICE_PREFIX = "/roomagent-invite"
#: A well-formed code no directory has minted: asking its status tests the token, nothing else.
PROBE_CODE = "CHK-CHK-CHK"


def _resolve(manifest_url: str, value: str) -> str:
    """What akka-apps makes of a relative URL in a manifest: the manifest URL up to its last ``/`` + value."""
    if value.startswith(("http://", "https://")):
        return value
    return manifest_url[: manifest_url.rfind("/") + 1] + value


def step_manifest(probe: Probe) -> Verdict:
    """The manifest, fetched through the public URL, against the parser of this server's generation."""
    answer = probe.get(probe.manifest_url, fix="check --public-url / --manifest-url")
    if answer.status_code != 200:
        raise StepFailed(f"{probe.manifest_url} answered HTTP {answer.status_code}",
                         "copy bbb-plugin/dist/ to the web root so that this URL serves manifest.json "
                         "(or pass --manifest-url)", status=answer.status_code)
    try:
        manifest = answer.json()
    except ValueError:
        raise StepFailed(f"{probe.manifest_url} is not JSON: {shown(answer.content)}",
                         "serve bbb-plugin/dist/manifest.json there") from None
    parser = PARSER_OF_SHAPE.get(probe.shape)
    assumed = "" if parser else " (session-check shape unknown: judged by the strictest parser)"
    findings, sdk = check_manifest(manifest, parser or "strict-no-schema", probe.client_sdk)
    seen: dict[str, Any] = {"parser": parser or "strict-no-schema", "fields": sorted(manifest)
                            if isinstance(manifest, dict) else []}
    if isinstance(manifest, dict) and isinstance(manifest.get("javascriptEntrypointUrl"), str):
        script = _resolve(probe.manifest_url, manifest["javascriptEntrypointUrl"])
        status = probe.get(script).status_code
        seen["entrypoint"] = {"url": script, "status": status}
        if status != 200:
            findings.append(Finding("fail", f"the plugin script {script} answered HTTP {status}",
                                     "serve the whole bbb-plugin/dist/ folder next to manifest.json"))
        if isinstance(manifest.get("localesBaseUrl"), str):
            index = _resolve(probe.manifest_url, manifest["localesBaseUrl"]).rstrip("/") + "/index.json"
            if probe.get(index).status_code != 200:
                findings.append(Finding("warn", f"{index} is missing: the plugin stays in English",
                                         "serve bbb-plugin/dist/locales/ too"))
    seen["findings"] = [f.__dict__ for f in findings]
    failed = [f for f in findings if f.level == "fail"]
    if failed:
        raise StepFailed("; ".join(f.message for f in failed) + assumed, "; ".join(f.fix for f in failed), **seen)
    if findings:
        return Verdict("manifest", "warn", "; ".join(f.message for f in findings) + assumed,
                       "; ".join(f.fix for f in findings), seen)
    return Verdict("manifest", "ok", f"{probe.manifest_url} is valid for the {seen['parser']} manifest parser; "
                   f"{sdk}{assumed}", seen=seen)


def step_service(probe: Probe) -> Verdict:
    """The invite service answers on its own (local) address."""
    start = "start it: systemctl enable --now roomagent-invite (or pass --service-url)"
    answer = probe.get(probe.service_url + "/healthz", fix=start)
    if answer.status_code != 200:
        raise StepFailed(f"{probe.service_url}/healthz answered HTTP {answer.status_code}",
                         start)
    echo = probe.get(probe.service_url + ECHO_PATH)
    if echo.status_code != 200:
        raise StepFailed(f"the service at {probe.service_url} has no {ECHO_PATH} (HTTP {echo.status_code}): "
                         "an older roomagent", "upgrade roomagent on this host and restart the service")
    return Verdict("service", "ok", f"invite service running at {probe.service_url}")


def _echo(probe: Probe, client: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    url = probe.public_url + SERVICE_PREFIX + ECHO_PATH
    try:
        answer = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise StepFailed(f"cannot reach {url}: {type(exc).__name__}", "check the public URL (--public-url)") from None
    if answer.status_code != 200:
        raise StepFailed(f"{url} answered HTTP {answer.status_code}: {shown(answer.content)}",
                         "install kiosk/nginx/roomagent-invite.nginx as /etc/bigbluebutton/nginx/roomagent-invite.nginx "
                         "and `nginx -t && systemctl reload nginx`; check proxy_pass matches the service's port",
                         status=answer.status_code)
    try:
        body = answer.json()
        seen = body["seen"]
        return {"x_session_token": bool(seen["x_session_token"]), "jsessionid_cookie": bool(seen["jsessionid_cookie"]),
                "identified": bool(body.get("identified")), "user_id": body.get("user_id"), "error": body.get("error")}
    except (ValueError, KeyError, TypeError):
        raise StepFailed(f"{url} did not answer as the invite service does: {shown(answer.content)}",
                         f"make {SERVICE_PREFIX}/ proxy to the invite service") from None


def step_nginx(probe: Probe) -> Verdict:
    """Through the public URL, with the moderator's header and cookie set explicitly."""
    user = probe.users["MODERATOR"]
    seen = _echo(probe, probe.client(), {"X-Session-Token": user.token, "Cookie": f"JSESSIONID={user.cookie}"})
    dropped = [name for name, key in (("X-Session-Token", "x_session_token"), ("Cookie", "jsessionid_cookie"))
               if not seen[key]]
    if dropped:
        raise StepFailed(f"nginx does not pass {' and '.join(dropped)} to the invite service",
                         "remove any proxy_set_header that clears them in the /roomagent-invite/ location "
                         "(the shipped snippet passes both)", **seen)
    if not seen["identified"] or seen["user_id"] != (probe.facts.user_id if probe.facts else None):
        error = seen.get("error") or {}
        raise StepFailed(f"the service did not identify the test moderator through nginx: {error.get('code')}: "
                         f"{error.get('message')}", "check [bbb] web_url and secret in invite.toml", **seen)
    return Verdict("nginx", "ok", "nginx passes Cookie and X-Session-Token; the service identified the test moderator",
                   seen=seen)


def step_cookie(probe: Probe) -> Verdict:
    """The browser's own jar (from the join) decides whether JSESSIONID goes to the service's path."""
    user: Joined = probe.users["MODERATOR"]
    seen = _echo(probe, user.browser, {"X-Session-Token": user.token})
    seen.update(cookie_path=user.cookie_path, cookie_secure=user.cookie_secure)
    if not seen["jsessionid_cookie"]:
        why = (f"its Path is {user.cookie_path}, which does not cover {SERVICE_PREFIX}/"
               if not (SERVICE_PREFIX + "/").startswith(user.cookie_path.rstrip("/") + "/") else
               "it is Secure and the public URL is not https" if user.cookie_secure
               and probe.public_url.startswith("http://") else "its domain does not match the public URL")
        raise StepFailed(f"a browser would not send JSESSIONID to {SERVICE_PREFIX}/: {why}",
                         "serve the invite service on the client's host and make bbb-web's session cookie "
                         "Path=/ (nginx: proxy_cookie_path /bigbluebutton / in bbb-web's location)", **seen)
    return Verdict("cookie", "ok", f"JSESSIONID (Path={user.cookie_path}) reaches {SERVICE_PREFIX}/", seen=seen)


def step_directory(probe: Probe) -> Verdict:
    """The default directory lists servers; each token is accepted by its institution's directory."""
    directory = probe.settings.directory.url.rstrip("/")
    answer = probe.get(directory + "/server", params={"per_page": 1}, fix="check [directory] url")
    if answer.status_code != 200:
        raise StepFailed(f"the directory {directory} answered HTTP {answer.status_code} to /server",
                         "check [directory] url")
    if not probe.settings.tokens:
        raise StepFailed("invite.toml holds no [tokens]: no room can be invited",
                         "add the token your institution's directory issued for this server")
    accepted, problems = [], []
    for server_id, token in sorted(probe.settings.tokens.items()):
        entry = probe.get(f"{directory}/server/{httpx.URL(server_id).path}")
        try:
            url = str(entry.json()["data"]["url"]).rstrip("/")
        except (ValueError, KeyError, TypeError):
            problems.append(f"{server_id}: not listed by {directory} (HTTP {entry.status_code})")
            continue
        status = probe.get(url + "/meeting/status", headers={"Authorization": f"Bearer {token.get_secret_value()}",
                                                              "Code": PROBE_CODE}).status_code
        if status in (401, 403):
            problems.append(f"{server_id}: {url} refuses our token (HTTP {status})")
        elif status >= 500 and status != 503:
            problems.append(f"{server_id}: {url} answered HTTP {status}")
        else:
            accepted.append(server_id)
    if problems:
        raise StepFailed("; ".join(problems), "fix [tokens] in invite.toml (each must be the token that "
                         "institution's directory holds for this server)", accepted=accepted)
    return Verdict("directory", "ok", f"directory {directory} reachable; token(s) accepted: {', '.join(accepted)}",
                   seen={"accepted": accepted})


def site_steps(probe: Probe) -> dict[str, Callable[[], Verdict]]:
    """Every step of a check run by name (see :data:`roomagent.invite.check.STEPS`)."""
    return {
        "api": probe.step_api, "checksum": probe.step_checksum, "meeting": probe.step_meeting,
        "moderator": probe.step_moderator, "viewer": probe.step_viewer, "session_check": probe.step_session_check,
        "user_id": probe.step_user_id, "cleanup": probe.step_cleanup,
        "manifest": lambda: step_manifest(probe), "service": lambda: step_service(probe),
        "nginx": lambda: step_nginx(probe), "cookie": lambda: step_cookie(probe),
        "directory": lambda: step_directory(probe),
    }
