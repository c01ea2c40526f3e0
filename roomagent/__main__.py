"""Allow ``python -m roomagent``."""

from roomagent.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
