"""The appliance files: systemd units, shell scripts, the image recipes and their shared overlay.

``systemd-analyze verify`` checks that each unit's ExecStart binaries exist, so the units are verified in
a temporary root (``--root``): the overlay copied in with links resolved, the host's own units beside them
(sysinit.target & co.), and small stand-ins at the paths the images install (/opt/roomagent/bin/roomagent,
/usr/bin/sway). The unit files themselves are verified unchanged.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OVERLAY = REPO / "image-build" / "rootfs-overlay"
UNITS = ("roomagent.service", "roomagent-firstboot.service")
SHELL_SCRIPTS = (
    REPO / "systemd" / "roomagent-firstboot",
    REPO / "image-build" / "stage.sh",
    REPO / "image-build" / "install-agent.sh",
    REPO / "image-build" / "build-x86.sh",
    REPO / "image-build" / "build-rpi.sh",
    REPO / "image-build" / "mkosi" / "mkosi.postinst",
    REPO / "image-build" / "pi-gen" / "stage-roomagent" / "prerun.sh",
    REPO / "image-build" / "pi-gen" / "stage-roomagent" / "00-roomagent" / "00-run.sh",
    REPO / "image-build" / "pi-gen" / "stage-roomagent" / "00-roomagent" / "01-run-chroot.sh",
)

needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                           reason="systemd-analyze not installed (apt-get install systemd)")


def _verify_root(tmp_path: Path, *, drop_in: bool = True) -> Path:
    root = tmp_path / "root"
    shutil.copytree(OVERLAY, root, symlinks=False)
    if not drop_in:
        shutil.rmtree(root / "usr/lib/systemd/system/roomagent.service.d")
    for stand_in in ("opt/roomagent/bin/roomagent", "usr/bin/sway"):
        path = root / stand_in
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    shutil.copy2("/usr/bin/env", root / "usr/bin/env")
    (root / "usr/libexec/roomagent/firstboot").chmod(0o755)
    units = root / "usr/lib/systemd/system"
    for host_dir in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if host_dir.is_dir():
            for unit in host_dir.iterdir():
                target = units / unit.name
                if not target.exists() and not target.is_symlink():
                    if unit.is_dir():
                        shutil.copytree(unit, target, symlinks=True)
                    else:
                        shutil.copy2(unit, target, follow_symlinks=False)
    return root


def _verify(root: Path, *units: str) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", f"--root={root}", *units],
                          capture_output=True, text=True, timeout=120)


def _complaints(done: subprocess.CompletedProcess) -> list[str]:
    # Only lines about our files: the host's units may have their own warnings.
    ours = re.compile(r"roomagent|10-sway-session")
    return [line for line in (done.stdout + done.stderr).splitlines() if ours.search(line)]


@needs_systemd_analyze
def test_units_verify_with_the_kiosk_drop_in(tmp_path):
    done = _verify(_verify_root(tmp_path), *UNITS)
    assert done.returncode == 0 and _complaints(done) == [], done.stdout + done.stderr


@needs_systemd_analyze
def test_agent_unit_verifies_without_the_kiosk_drop_in(tmp_path):
    done = _verify(_verify_root(tmp_path, drop_in=False), "roomagent.service")
    assert done.returncode == 0 and _complaints(done) == [], done.stdout + done.stderr


@needs_systemd_analyze
def test_verify_notices_a_missing_compositor(tmp_path):
    # The stand-ins matter: without sway the kiosk drop-in's ExecStart is refused.
    root = _verify_root(tmp_path)
    (root / "usr/bin/sway").unlink()
    done = _verify(root, "roomagent.service")
    assert done.returncode != 0 and "/usr/bin/sway" in done.stdout + done.stderr


@needs_systemd_analyze
def test_security_exposure_of_the_agent_unit(tmp_path):
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={_verify_root(tmp_path)}",
                           "roomagent.service"], capture_output=True, text=True, timeout=120)
    match = re.search(r"Overall exposure level for roomagent\.service: (\d+\.\d+)", done.stdout)
    assert match, done.stdout + done.stderr
    print(f"systemd-analyze security roomagent.service: {match.group(1)}")
    # What a kiosk that runs Chromium can reach: below "MEDIUM" (5.0) in systemd's scale.
    assert float(match.group(1)) < 5.0


def _unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path)
    return parser


def test_agent_unit_contract():
    unit = _unit(REPO / "systemd" / "roomagent.service")
    service = unit["Service"]
    assert service["Type"] == "notify" and service["NotifyAccess"] == "all"
    assert service["Restart"] == "always" and service["RestartPreventExitStatus"] == "78"
    assert service["User"] == "roomagent" and set(service["SupplementaryGroups"].split()) == {
        "video", "render", "audio", "input"}
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    assert service["WatchdogSec"].endswith("s") and service["ExecCondition"].endswith("check-config")


def test_no_unit_or_environment_file_disables_the_chromium_sandbox():
    files = [p for p in [*(REPO / "systemd").iterdir(), *(REPO / "kiosk").rglob("*")] if p.is_file()
             and p.suffix not in (".png", ".md")]
    def settings(path: Path) -> str:  # comments may (and do) say why it must never be set
        return "\n".join(line for line in path.read_text(errors="replace").splitlines()
                         if not line.lstrip().startswith("#"))

    offenders = [p for p in files if "QTWEBENGINE_DISABLE_SANDBOX" in settings(p) or "--no-sandbox" in settings(p)]
    assert offenders == []


def test_kiosk_drop_in_is_the_sway_session_on_tty1():
    path = REPO / "kiosk" / "roomagent.service.d" / "10-sway-session.conf"
    service = _unit(path)
    lines = path.read_text().splitlines()
    starts = [line.split("=", 1)[1] for line in lines if line.startswith("ExecStart=")]
    # sway with the configuration generated from the profile just before; the agent is in its last line.
    assert starts == ["", "/usr/bin/sway --config %t/roomagent/sway.conf"]
    assert [line.split("=", 1)[1] for line in lines if line.startswith("ExecStartPre=")] == [
        "/opt/roomagent/bin/roomagent kiosk-config --output %t/roomagent/sway.conf"]
    assert service["Service"]["TTYPath"] == "/dev/tty1" and service["Service"]["PAMName"] == "roomagent-kiosk"
    assert "Environment=LIBSEAT_BACKEND=seatd" in lines
    assert (REPO / "kiosk/pam.d/roomagent-kiosk").is_file()
    assert "pam_systemd" not in "\n".join(line for line in (REPO / "kiosk/pam.d/roomagent-kiosk").read_text()
                                          .splitlines() if not line.startswith("#"))
    assert "getty@tty1.service" in service["Unit"]["Conflicts"]
    assert not (REPO / "kiosk/roomagent.service.d/10-cage-session.conf").exists()


def test_gpu_environment_files_are_plain_assignments():
    for env in (REPO / "kiosk" / "gpu").glob("*.env"):
        assignments = [line for line in env.read_text().splitlines() if line and not line.startswith("#")]
        assert assignments and all(re.match(r"^[A-Z_][A-Z0-9_]*=\S", line) for line in assignments), env
        assert any(line.startswith("QTWEBENGINE_CHROMIUM_FLAGS=") for line in assignments), env


def test_overlay_links_all_resolve_inside_the_repository():
    links = [p for p in OVERLAY.rglob("*") if p.is_symlink()]
    assert links, "the overlay links to the one copy of each unit and rule"
    for link in links:
        target = link.resolve()
        assert target.is_file() and REPO in target.parents, link


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_shell_scripts_pass_shellcheck(script):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (apt-get install shellcheck)")
    assert os.access(script, os.X_OK), f"{script} is not executable"
    done = subprocess.run(["shellcheck", "--severity=style", str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout


def test_mkosi_configuration_parses():
    # mkosi 14 reads mkosi.conf as INI and turns each key into its command-line option.
    conf = _unit(REPO / "image-build" / "mkosi" / "mkosi.conf")
    assert conf["Distribution"]["Distribution"] == "debian" and conf["Distribution"]["Release"] == "bookworm"
    assert conf["Output"]["Format"] == "gpt_ext4" and conf["Output"]["Bootable"] == "yes"
    packages = conf["Content"]["Packages"].split()
    assert {"sway", "seatd", "python3-venv", "network-manager"} <= set(packages) and "cage" not in packages
    assert (REPO / "image-build/mkosi" / conf["Content"]["PostInstallationScript"]).is_file()
    if shutil.which("mkosi"):
        done = subprocess.run(["mkosi", "summary"], cwd=REPO / "image-build/mkosi", capture_output=True,
                              text=True, timeout=60)
        # mkosi 14 prints the summary on stderr.
        assert done.returncode == 0 and "gpt_ext4" in done.stdout + done.stderr, done.stderr


def test_image_dependencies_are_pinned():
    lines = [line for line in (REPO / "image-build/requirements.lock").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines and all(re.match(r"^[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9.+-]*$", line) for line in lines), lines
    assert any(line.startswith("PySide6==") for line in lines)
