"""Eight visitors at once, two turns each, against the real app."""

from __future__ import annotations

import pytest

from warmchat.bench.load import run_load

pytestmark = pytest.mark.slow  # eight visitors against the real app (the session's, conftest)


def test_eight_concurrent_sessions(app):
    r = run_load(app, sessions=8, turns=2, deadline_s=600)  # turn 2 shows each its own history
    print(r)
    assert r["problems"] == []
    assert r["turns_done"] == 16
    assert r["session_dirs_while_open"] == 8  # one folder per visitor, none shared
    assert r["session_dirs_after_close"] == 0  # every one of their folders is gone after they leave
    # Memory comes back near where it was (Python keeps some of what it grew to).
    assert r["rss_after_close_mb"] < r["rss_start_mb"] + 250
