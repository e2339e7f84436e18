"""Many visitors at once: N concurrent gradio_client sessions against a running app.

    python -m warmchat.bench.load [--sessions 8] [--turns 3]

starts ``python app.py`` on a free 127.0.0.1 port, drives the sessions (bounded
in count and time), checks that nobody sees another's conversation, that
every session's files are gone after it closes, and reports the turn latency
(p50/p95) and the server's memory before, at peak and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from warmchat import storage
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, REPO_DIR


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def client_downloads():
    """A folder for a gradio_client's downloads (its ``download_files``), removed with all in it after.

    gradio_client keeps what it downloads in /tmp/gradio for good, and fetches each file into a
    new folder ``<tempdir>/<40 hex digits>`` that it never removes (a dozen empty folders a turn);
    inside this block the process's temp dir is this folder, so those go with it. Not for
    threads doing other temp-file work meanwhile: ``tempfile.tempdir`` is per process."""
    saved = tempfile.tempdir
    folder = tempfile.mkdtemp(prefix="warmchat-client-")
    tempfile.tempdir = folder
    try:
        yield folder
    finally:
        tempfile.tempdir = saved
        shutil.rmtree(folder, ignore_errors=True)


WARM_LINE = "Models warm in"  # what app.py prints when its background warm-up is done


class App:
    """``python app.py`` on a free loopback port, stopped by its PID."""

    def __init__(self, env: dict | None = None, timeout_s: float = 120, warm: bool = True,
                 tmp: Path | None = None) -> None:  # fmt: skip
        """Start it and wait until it serves; with ``warm``, also until its models are warm
        (the app warms them in the background after it starts serving), so that what is
        timed next is a turn at full speed. ``serving_s`` and ``warm_s`` are how long
        each took from the start of the process (warm_s None when not waited for).
        ``tmp`` is its TMPDIR (default: a new folder), e.g. the one an earlier app left."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.tmp = Path(tmp) if tmp else Path(tempfile.mkdtemp(prefix="warmchat-app-tmp-"))
        self._own_tmp = tmp is None  # made here: removed by ``stop`` (a benchmark leaves no bytes)
        # Everything the app writes goes under its TMPDIR, Gradio's cache too (a GRADIO_TEMP_DIR of
        # the caller's, e.g. the tests' downloads folder, is not passed on unless ``env`` names it).
        base = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}
        full = {**base, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(self.port),
                "TMPDIR": str(self.tmp), **(env or {})}  # fmt: skip
        self.log = self.tmp / f"app-{self.port}.log"
        t0 = time.perf_counter()
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "app.py"], cwd=REPO_DIR, env=full, stdout=fh, stderr=subprocess.STDOUT
            )
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if self.proc.poll() is not None:
                said = self.log.read_text(errors="replace")[-2000:]
                self.stop()  # its temp dir goes too
                raise RuntimeError(f"app.py exited: {said}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            said = self.log.read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"app.py did not answer within {timeout_s} s: {said}")
        self.serving_s = time.perf_counter() - t0
        self.warm_s: float | None = None
        while warm and WARM_LINE not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.time() > deadline:
                said = self.log.read_text(errors="replace")[-2000:]  # before stop() removes it
                self.stop()
                raise RuntimeError(f"app.py did not warm its models: {said}")
            time.sleep(0.1)
        if warm:
            self.warm_s = time.perf_counter() - t0

    def session_dirs(self) -> list[Path]:
        """Conversation folders of live sessions (the app's temp dir is ours alone)."""
        return storage.session_dirs(self.tmp)

    def disk_bytes(self) -> int:
        """Bytes in the app's temp dir: its conversations, Gradio's cache and uploads (not its log)."""
        return sum(f.stat().st_size for f in self.tmp.rglob("*") if f.is_file() and f != self.log)

    def stop(self, keep_tmp: bool = False) -> None:
        """Stop the app (SIGTERM, then SIGKILL after 20 s) and remove the temp dir it was given here,
        its Gradio cache and log with it, unless ``keep_tmp`` (to look at what the app left)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self._own_tmp and not keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def run_visitors(visitor, clients: list, join_s: float) -> float:
    """Run ``visitor(k, client)`` for every client at once, each on a thread; the seconds it took
    (a visitor still running after ``join_s`` is left behind: its own deadline stops it)."""
    threads = [threading.Thread(target=visitor, args=(k, c)) for k, c in enumerate(clients)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=join_s)
    return time.perf_counter() - t0


def run_load(app: App, sessions: int = 8, turns: int = 3, deadline_s: float = 600) -> dict:
    """Drive ``sessions`` concurrent visitors for ``turns`` turns each; returns the figures."""
    with client_downloads() as downloads:
        from gradio_client import Client, handle_file

        agent, user = handle_file(str(DEFAULT_AGENT_PORTRAIT)), handle_file(str(DEFAULT_USER_PORTRAIT))
        latencies: list[float] = []
        problems: list[str] = []
        # Folders of visitors already there (a shared test app has had some): only ours are counted.
        before = set(app.session_dirs())
        clients = [Client(app.url, verbose=False, download_files=downloads) for _ in range(sessions)]
        lock = threading.Lock()
        start_rss = rss_mb(app.proc.pid)
        peak = [start_rss]
        t_end = time.time() + deadline_s

        def visitor(k: int, client) -> None:
            for t in range(turns):
                if time.time() > t_end:
                    with lock:
                        problems.append(f"visitor {k}: out of time before turn {t + 1}")
                    return
                t0 = time.perf_counter()
                try:
                    out = client.predict(
                        message=f"Visitor {k} here, turn {t + 1}: I love hiking.",
                        agent_img=agent,
                        user_img=user,
                        audio=None,
                        api_name="/send",
                    )
                except Exception as e:
                    with lock:
                        problems.append(f"visitor {k} turn {t + 1}: {type(e).__name__}: {e}")
                    return
                dt = time.perf_counter() - t0
                chat = json.dumps(out[2])
                with lock:
                    latencies.append(dt)
                    peak[0] = max(peak[0], rss_mb(app.proc.pid))
                    if len(out[2]) != 2 * (t + 1):
                        problems.append(
                            f"visitor {k} turn {t + 1}: {len(out[2])} messages, expected {2 * (t + 1)}"
                        )
                    others = [j for j in range(sessions) if j != k and f"Visitor {j} here" in chat]
                    if others:
                        problems.append(f"visitor {k} sees visitors {others}")

        wall = run_visitors(visitor, clients, deadline_s + 60)
        ours = set(app.session_dirs()) - before
        for c in clients:
            c.close()
        # The app deletes a session's files when its visitor disconnects (unload).
        for _ in range(60):
            if not ours & set(app.session_dirs()):
                break
            time.sleep(1)
        time.sleep(2)
        lat = np.array(latencies)
        return {
            "sessions": sessions,
            "turns_each": turns,
            "turns_done": len(latencies),
            "wall_s": round(wall, 1),
            "latency_p50_s": round(float(np.percentile(lat, 50)), 2) if len(lat) else None,
            "latency_p95_s": round(float(np.percentile(lat, 95)), 2) if len(lat) else None,
            "rss_start_mb": round(start_rss),
            "rss_peak_mb": round(peak[0]),
            "rss_after_close_mb": round(rss_mb(app.proc.pid)),
            "session_dirs_while_open": len(ours),
            "session_dirs_after_close": len(ours & set(app.session_dirs())),
            "problems": problems,
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--turns", type=int, default=3)
    args = ap.parse_args(argv)
    app = App()
    try:
        result = run_load(app, args.sessions, args.turns)
    finally:
        app.stop()
    print(json.dumps(result, indent=2))
    return 0 if not result["problems"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
