"""``python -m roomagent.control.schemas``: regenerate the shipped JSON Schemas."""

from roomagent.control.schemas import write

for path in write():
    print(path)
