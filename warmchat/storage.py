"""Where the app's per-visitor files live, and who deletes them.

Every conversation folder of a running app sits in one folder of its own process,
``$TMPDIR/warmchat.sessions-<pid>/warmchat-XXXXXXXX``:

- a visitor who leaves, clears or idles out has their folder deleted
  (``warmchat.session.ChatSession.close``);
- the app deletes its whole folder when it stops (SIGTERM, Ctrl-C, a normal exit:
  ``remove_own``);
- a process that was killed (``kill -9``, a crash, a power cut) cannot, so every
  app sweeps at start-up, and on a timer, the folders of processes that no
  longer run (``sweep_stale``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "warmchat.sessions-"
SESSION_PREFIX = "warmchat-"  # a conversation folder (the load test counts these)


def _root_for(pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"{PREFIX}{pid}"


def sessions_root() -> Path:
    """This process's folder of conversation folders (made on first use)."""
    root = _root_for(os.getpid())
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def new_session_dir() -> Path:
    """A new, empty conversation folder of this process."""
    return Path(tempfile.mkdtemp(prefix=SESSION_PREFIX, dir=sessions_root()))


def session_dirs(tmp: str | Path | None = None) -> list[Path]:
    """Every conversation folder of every app using ``tmp`` (default: this process's temp dir)."""
    base = Path(tmp or tempfile.gettempdir())
    return sorted(base.glob(f"{PREFIX}*/{SESSION_PREFIX}*"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: not ours to judge
        return True
    return True


def sweep_stale() -> list[Path]:
    """Delete the folders left by apps that no longer run; returns what was deleted."""
    gone = []
    for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        pid = root.name[len(PREFIX) :]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(root, ignore_errors=True)
            gone.append(root)
    return gone


def remove_own() -> None:
    """Delete this process's folder and everything in it (the app is stopping)."""
    shutil.rmtree(_root_for(os.getpid()), ignore_errors=True)
