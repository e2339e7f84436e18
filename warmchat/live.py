"""An action's results as they happen: progress, the reply, the video segments, then the end.

A turn renders for seconds, but its reply text is known after a few
milliseconds and its first second of video soon after. ``live`` runs an action
(a turn, two avatars talking, a replay) on a worker thread and hands out what
it produces as ``Event`` values while it runs, so a caller such as the app can
show each thing the moment it exists:

    for ev in live(lambda hooks: pipe.run_turn(conv, "Hi!", hooks=hooks)):
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

from warmchat.hooks import Hooks
from warmchat.render.video import Segment

EventKind = Literal["progress", "reply", "segment", "done"]


@dataclass(frozen=True)
class Event:
    """One thing an action produced while running."""

    kind: EventKind
    # progress: (fraction in [0, 1], what is happening); reply: ``reply_value`` of
    # the node the action passed to ``hooks.reply`` (the app's is the chat so far);
    # segment: a ``Segment``; done: the action's return value.
    value: Any


class _Queued(Hooks):
    """Hooks whose every call becomes an ``Event`` for the consumer; segments are wanted."""

    wants_segments = True

    def __init__(self, reply_value: Callable[[Any], Any]) -> None:
        self._q: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._reply_value = reply_value

    def progress(self, fraction: float, desc: str) -> None:
        self._q.put(("progress", (float(fraction), str(desc))))

    def reply(self, node: Any) -> None:
        self._q.put(("reply", self._reply_value(node)))

    def segment(self, seg: Segment) -> None:
        self._q.put(("segment", seg))


def live(
    action: Callable[[Hooks], Any], reply_value: Callable[[Any], Any] = lambda node: node
) -> Iterator[Event]:
    """Run ``action(hooks)`` on a worker thread; yield its events as they come, then ``done``.

    An exception in the action is raised here, in the consumer's thread, after
    the events that came before it. Segment files stay until the action has
    ended and the consumer is done with the last event (the clip is joined from
    them at the end); then the folders that held them are deleted. If the
    consumer stops early, the action still runs to its end (it is waited for),
    so the conversation is never left half-changed.
    """
    hooks = _Queued(reply_value)
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
