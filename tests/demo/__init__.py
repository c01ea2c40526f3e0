"""Fake outside services (meeting platforms, pages that misbehave) for the tests."""
