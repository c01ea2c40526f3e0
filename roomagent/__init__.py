"""roomagent: the lecture-room appliance agent for open meeting platforms."""

__version__ = "0.1.0"
