"""Fixtures of the reliability tests (tests/fault/).

`fault_server` is tests/integration's make_server with a FaultServer
(its own process group, so it can be SIGKILLed as a whole); see
faultlib.py. Run with `/usr/bin/python3 -m pytest tests/fault`, in a
pytest run of its own (tests/integration's files import their conftest by
name, and two conftest modules cannot both be "conftest"); the binary
under test is $YUBIN_BIN as for the integration tests, and
YUBIN_TEST_LONG=1 selects the long variants (`make test-long`).
"""
import json
import os

import pytest

from faultlib import USERS, FaultServer, it

tls_files = it.tls_files  # the same session-wide certificate fixture


@pytest.fixture
def fault_server(tls_files):
    """Factory: fault_server(overrides, users, start, workers, env)."""
    servers = []

    def factory(overrides=None, users=None, start=True, workers=2, env=None):
        srv = FaultServer(tls_files, overrides, workers=workers, env=env)
        servers.append(srv)
        for name, pw in (USERS if users is None else users).items():
            srv.add_user(name, pw)
        return srv.start() if start else srv

    yield factory
    for srv in servers:
        try:
            if srv.proc is not None:
                srv.stop()
            srv.check_log()
        finally:
            if srv.proc is not None:
                srv.kill_group()
            srv.cleanup()


@pytest.fixture
def record():
    """record(name, **figures): figures a test measured, appended as one
    JSON line to $YUBIN_FAULT_STATS (scripts/run-tests.sh prints them and
    docs/RELIABILITY.md quotes them)."""
    path = os.environ.get("YUBIN_FAULT_STATS")

    def write(name, **figures):
        line = json.dumps({"test": name, **figures}, sort_keys=True)
        print(line)
        if path:
            with open(path, "a") as f:
                f.write(line + "\n")

    return write
