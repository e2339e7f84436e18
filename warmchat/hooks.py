"""What a running turn reports while it runs: one object instead of three callbacks.

The pipeline's actions (``run_turn``, ``regenerate``, ``edit``, ``replay``) take
a ``Hooks`` and call it as things happen: ``progress`` as the work moves on,
``reply`` with the agent's node as soon as its text is written, ``segment`` with
each piece of the clip (8 frames first, growing to 1 s) as soon as it is encoded. The base class does
nothing with them; ``warmchat.live`` turns them into events for the app, a test
records them, the CLI prints the progress.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warmchat.render.video import Segment
    from warmchat.tree import Node


class Hooks:
    """Report nothing (the default); subclass and override what you want to hear about."""

    # Whether anyone plays segments before the clip ends: then the clip is cut into short
    # segments as it renders; otherwise only at utterance ends (fewer encoder starts).
    wants_segments: bool = False

    def progress(self, fraction: float, desc: str) -> None:
        """``fraction`` of the action done (0..1), and what is happening, in words."""

    def reply(self, node: Node) -> None:
        """The agent's node, as soon as its reply is written (before its frames render)."""

    def segment(self, seg: Segment) -> None:
        """A finished segment; its file stays in ``work_dir/segments/`` for the caller to delete."""

    def part(self, lo: float, hi: float, label: str = "") -> Hooks:
        """These hooks for a part of the action: its progress 0..1 fills ``lo``..``hi`` of this one,
        its messages get ``label`` in front; replies and segments pass through."""
        return _Part(self, lo, hi, label)


class _Part(Hooks):
    def __init__(self, outer: Hooks, lo: float, hi: float, label: str) -> None:
        self.outer, self.lo, self.hi, self.label = outer, lo, hi, label

    @property
    def wants_segments(self) -> bool:  # type: ignore[override]
        return self.outer.wants_segments

    def progress(self, fraction: float, desc: str) -> None:
        self.outer.progress(self.lo + (self.hi - self.lo) * fraction, f"{self.label}{desc}")

    def reply(self, node: Node) -> None:
        self.outer.reply(node)

    def segment(self, seg: Segment) -> None:
        self.outer.segment(seg)


class Progress(Hooks):
    """Hooks that hear only the progress, from a ``(fraction, desc)`` function (the CLI prints it)."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def progress(self, fraction: float, desc: str) -> None:
        self.fn(fraction, desc)
