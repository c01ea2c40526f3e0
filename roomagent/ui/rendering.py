"""How the screens draw: chosen once at start-up, before the QApplication exists.

What OpenGL really runs on decides (README "Screen engines", tests/bench/bench_video.py):

* a **hardware driver**: ``gpu`` — Qt Quick and Chromium composite with OpenGL, as they do by default;
* a **software rasteriser** (Mesa's llvmpipe/softpipe, SwiftShader) or **no OpenGL at all**:
  ``software`` — Qt Quick's software scene graph and Chromium's software compositor
  (``--disable-gpu``). Measured here (Xvfb, llvmpipe), routing the compositor through llvmpipe costs
  ~40 % more CPU than the software path for no more frames: llvmpipe only emulates a GPU on the same
  two cores.

The profile can force either (``[kiosk] rendering``). :func:`choose_rendering` is the decision, free
of Qt and of the machine, so it is tested with an injected :class:`GlProbe`; :func:`probe_gl` asks the
real driver through EGL in a child process (a broken driver may crash; it must not take the agent with
it); :func:`apply_rendering` puts the choice into the environment that Qt and Chromium read.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, MutableMapping
from dataclasses import asdict, dataclass
from typing import Literal

log = logging.getLogger(__name__)

Mode = Literal["gpu", "software"]
Setting = Literal["auto", "gpu", "software"]

#: GL_RENDERER substrings of rasterisers that run on the CPU (Mesa, Google, Microsoft).
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "swiftshader", "software rasterizer", "lavapipe",
                      "gdi generic")
#: The probe makes one EGL context; ~50 ms normally. A driver that hangs longer is treated as none.
PROBE_TIMEOUT_S = 10.0
#: Added to Chromium's flags (QtWebEngine's and the Chromium engine's) in software mode.
SOFTWARE_CHROMIUM_FLAGS = ("--disable-gpu",)


@dataclass(frozen=True)
class GlProbe:
    """What OpenGL (ES) answered: its renderer, vendor and version strings, or why there is none."""

    renderer: str = ""
    vendor: str = ""
    version: str = ""
    error: str = ""

    @property
    def software(self) -> bool:
        """True when the renderer is a CPU rasteriser."""
        name = self.renderer.lower()
        return any(word in name for word in SOFTWARE_RENDERERS)


@dataclass(frozen=True)
class RenderingChoice:
    """The rendering path and why; published in the room's state as ``rendering``."""

    mode: Mode
    reason: str
    renderer: str = ""  # GL_RENDERER, when a probe ran and found one

    def as_state(self) -> dict[str, str]:
        """The JSON form for the retained state."""
        return asdict(self)


def choose_rendering(setting: Setting, probe: GlProbe | None) -> RenderingChoice:
    """The rendering path for ``setting`` given what the probe found (``None``: no probe ran)."""
    renderer = probe.renderer if probe is not None else ""
    if setting != "auto":
        return RenderingChoice(setting, f"the profile sets [kiosk] rendering = {setting!r}", renderer)
    if probe is None or not probe.renderer:
        why = probe.error if probe is not None and probe.error else "no probe result"
        return RenderingChoice("software", f"no OpenGL driver answered ({why})")
    if probe.software:
        return RenderingChoice("software", f"OpenGL runs on {probe.renderer}, a software rasteriser", renderer)
    return RenderingChoice("gpu", f"OpenGL runs on {probe.renderer} (hardware)", renderer)


def probe_gl(timeout_s: float = PROBE_TIMEOUT_S) -> GlProbe:
    """Ask the system's EGL/OpenGL ES driver for its renderer, in a child process."""
    try:
        done = subprocess.run([sys.executable, "-m", "roomagent.ui.rendering"], capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return GlProbe(error=f"probe failed: {exc}")
    try:
        return GlProbe(**json.loads(done.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError, TypeError):
        tail = (done.stderr or "").strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return GlProbe(error=f"probe failed: {tail[0]}")


def apply_rendering(setting: Setting, environ: MutableMapping[str, str] | None = None,
                    probe: Callable[[], GlProbe] = probe_gl) -> RenderingChoice:
    """Choose (probing only for ``auto``), log the choice, and set what Qt and QtWebEngine read at start.

    Software mode sets ``QT_QUICK_BACKEND=software`` (QtWebEngine's view draws through Qt Quick) and
    adds ``--disable-gpu`` to ``QTWEBENGINE_CHROMIUM_FLAGS``; gpu mode leaves both at Qt's defaults.
    An operator's own ``QT_QUICK_BACKEND`` is kept.
    """
    env = os.environ if environ is None else environ
    choice = choose_rendering(setting, probe() if setting == "auto" else None)
    if choice.mode == "software":
        env.setdefault("QT_QUICK_BACKEND", "software")
        flags = env.get("QTWEBENGINE_CHROMIUM_FLAGS", "").split()
        flags += [f for f in SOFTWARE_CHROMIUM_FLAGS if f not in flags]
        env["QTWEBENGINE_CHROMIUM_FLAGS"] = " ".join(flags)
    log.info("rendering: %s, because %s", choice.mode, choice.reason)
    return choice


def chromium_flags(choice: RenderingChoice) -> list[str]:
    """The Chromium engine's flags for this choice."""
    return list(SOFTWARE_CHROMIUM_FLAGS) if choice.mode == "software" else []


# -- the probe itself (runs in the child) ------------------------------------------------------------

_EGL_PLATFORM_SURFACELESS_MESA = 0x31DD
_EGL_OPENGL_ES_API = 0x30A0
_EGL_CONTEXT_CLIENT_VERSION = 0x3098
_EGL_NONE = 0x3038
_GL_VENDOR, _GL_RENDERER, _GL_VERSION = 0x1F00, 0x1F01, 0x1F02


def _egl_probe() -> GlProbe:
    """One OpenGL ES 2 context without any surface (no display server needed), then its strings."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("EGL") or "libEGL.so.1"
    try:
        egl = ctypes.CDLL(name)
    except OSError as exc:
        return GlProbe(error=f"no EGL library: {exc}")
    vp = ctypes.c_void_p
    egl.eglGetProcAddress.restype = vp
    egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    egl.eglGetDisplay.restype = vp
    egl.eglGetDisplay.argtypes = [vp]
    egl.eglInitialize.argtypes = [vp, vp, vp]
    egl.eglCreateContext.restype = vp
    egl.eglCreateContext.argtypes = [vp, vp, vp, vp]
    egl.eglMakeCurrent.argtypes = [vp, vp, vp, vp]
    egl.eglTerminate.argtypes = [vp]
    display = None
    # The surfaceless platform (Mesa) reaches the same driver the desktop would use, without a display.
    address = egl.eglGetProcAddress(b"eglGetPlatformDisplayEXT")
    if address:
        get_platform_display = ctypes.CFUNCTYPE(vp, ctypes.c_uint, vp, vp)(address)
        display = get_platform_display(_EGL_PLATFORM_SURFACELESS_MESA, None, None)
    if not display:
        display = egl.eglGetDisplay(None)
    if not display or not egl.eglInitialize(display, None, None):
        return GlProbe(error="eglInitialize failed")
    try:
        egl.eglBindAPI(_EGL_OPENGL_ES_API)
        attributes = (ctypes.c_int * 3)(_EGL_CONTEXT_CLIENT_VERSION, 2, _EGL_NONE)
        context = egl.eglCreateContext(display, None, None, attributes)  # EGL_KHR_no_config_context
        if not context or not egl.eglMakeCurrent(display, None, None, context):
            return GlProbe(error="no surfaceless OpenGL ES context")
        get_string = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_uint)(egl.eglGetProcAddress(b"glGetString"))
        text = [(get_string(which) or b"").decode("utf-8", "replace") for which in (_GL_RENDERER, _GL_VENDOR,
                                                                                    _GL_VERSION)]
        return GlProbe(renderer=text[0], vendor=text[1], version=text[2])
    finally:
        egl.eglTerminate(display)


if __name__ == "__main__":
    print(json.dumps(asdict(_egl_probe())), flush=True)
