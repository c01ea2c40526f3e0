"""The demo: a fake meeting platform and the helpers that serve it, so `roomagent demo` runs offline."""
