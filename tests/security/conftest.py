"""Fixtures of the security suite: the directory tests' private redis-server and environment guard."""

from tests.directory.conftest import _no_directory_env, redis_server_url  # noqa: F401 - fixtures by import
