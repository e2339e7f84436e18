"""An action's results as they happen: progress, the reply, the video segments, then the end.

A turn renders for seconds, but its reply text is known after a few
milliseconds and its first second of video soon after. ``live`` runs an action
(a turn, two avatars talking, a replay) on a worker thread and hands out what
it produces as ``Event`` values while it runs, so a caller such as the app can
show each thing the moment it exists:

    for ev in live(lambda hooks: pipe.run_turn(conv, "Hi!", on_segment=hooks.segment)):
        ...  # ev.kind is "progress", "reply", "segment" and finally "done"

Kept free of Gradio, like ``warmchat.session``.
"""

from __future__ import annotations

import queue
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from warmchat.render.video import Segment

EventKind = Literal["progress", "reply", "segment", "done"]


@dataclass(frozen=True)
class Event:
    """One thing an action produced while running."""

    kind: EventKind
    # progress: (fraction in [0, 1], what is happening); reply: whatever the
    # action passed to ``hooks.reply`` (the app passes the chat so far);
    # segment: a ``Segment``; done: the action's return value.
    value: Any


class Hooks:
    """What a running action calls; each call becomes an ``Event`` for the consumer."""

    def __init__(self) -> None:
        self._q: queue.Queue[tuple[str, Any]] = queue.Queue()

    def progress(self, fraction: float, desc: str) -> None:
        self._q.put(("progress", (float(fraction), str(desc))))

    def reply(self, value: Any) -> None:
        self._q.put(("reply", value))

    def segment(self, seg: Segment) -> None:
        self._q.put(("segment", seg))


def live(action: Callable[[Hooks], Any]) -> Iterator[Event]:
    """Run ``action(hooks)`` on a worker thread; yield its events as they come, then ``done``.

    An exception in the action is raised here, in the consumer's thread, after
    the events that came before it. Segment files stay until the action has
    ended and the consumer is done with the last event (the clip is joined from
    them at the end); then the folders that held them are deleted. If the
    consumer stops early, the action still runs to its end (it is waited for),
    so the conversation is never left half-changed.
    """
    hooks = Hooks()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = action(hooks)
        except BaseException as e:  # handed to the consumer below
            outcome["error"] = e
        finally:
            hooks._q.put(("end", None))

    worker = threading.Thread(target=work, name="warmchat-live", daemon=True)
    worker.start()
    folders: set[Path] = set()
    try:
        while True:
            kind, value = hooks._q.get()
            if kind == "end":
                break
            if kind == "segment":
                folders.add(value.path.parent)
            yield Event(kind, value)  # type: ignore[arg-type]
        if "error" in outcome:
            raise outcome["error"]
        yield Event("done", outcome["value"])
    finally:
        worker.join()
        for f in folders:
            shutil.rmtree(f, ignore_errors=True)
