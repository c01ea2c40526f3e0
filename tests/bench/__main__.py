"""``python -m tests.bench``: run every ``bench_*.py`` in this folder, one after another.

Each benchmark runs as its own subprocess (a crash or a stray Qt/Chromium process in one cannot
disturb the next, and none competes with another for the CPU) with its output passed straight
through. The exit status is 0 unless a benchmark itself failed to run; slow figures never fail.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Run the benchmarks in name order; report which ones exited non-zero."""
    failed: list[str] = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n##### {script.name}", flush=True)
        began = time.monotonic()
        status = subprocess.run([sys.executable, str(script)], cwd=HERE.parents[1], check=False).returncode
        print(f"##### {script.name}: exit {status} after {time.monotonic() - began:.0f} s", flush=True)
        if status != 0:
            failed.append(f"{script.name} (exit {status})")
    if failed:
        print("benchmarks that did not run through: " + ", ".join(failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
