"""One side-by-side clip being written: utterances' frames go in, playable segments come out.

Knows nothing of conversations or models: it takes the frames of each utterance
(speaker and listener, either side), lays them side by side with the avatars'
names, encodes them through a ``SegmentedClipWriter`` and hands each finished
segment to ``on_segment``; closing joins the segments into the clip.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from warmchat.hooks import Hooks
from warmchat.motion.tracks import FPS
from warmchat.render.video import Compositor, Segment, SegmentConfig, SegmentedClipWriter


class ClipRender:
    """One clip: ``utterance()`` per utterance in order, then close (a context manager).

    When ``hooks.wants_segments``, the clip is cut into short segments (8 frames first, then up to 1 s; in
    ``<clip folder>/segments/<clip name>/``, for the caller to delete) handed to
    ``hooks.segment`` as they are encoded; otherwise the cut is only at utterance ends
    (nobody plays the pieces early) and the pieces are deleted. ``times`` gets ``first_frame`` and
    ``first_segment`` (seconds after ``started``, a ``perf_counter`` reading) and
    ``render_encode`` (seconds spent here, less the ``motion`` time of the frames).
    """

    def __init__(self, clip: Path, size: int, names: tuple[str, str], sample_rate: int,
                 segments: SegmentConfig, started: float, times: dict[str, float],
                 hooks: Hooks) -> None:  # fmt: skip
        self.started, self.times, self.hooks = started, times, hooks
        streaming = hooks.wants_segments
        self.segments: list[Segment] = []
        self.frames = 0
        self.t_motion = 0.0  # seconds the frame generators spent planning motion (not rendering)
        self.t_open = time.perf_counter()
        if not streaming:  # one piece per utterance: no extra encoder starts
            segments = dataclasses.replace(segments, frames=1 << 30, first_frames=1 << 30)
        seg_dir = clip.parent / "segments" / clip.stem if streaming else None
        if seg_dir is not None:
            shutil.rmtree(seg_dir, ignore_errors=True)  # left by an earlier run of the same clip number
        self.comp = Compositor(size, names)
        self.writer = SegmentedClipWriter(
            clip, 2 * size, size, sample_rate, segments, seg_dir, on_segment=self._segment
        )

    def _segment(self, seg: Segment) -> None:
        if not self.segments:
            self.times["first_segment"] = time.perf_counter() - self.started
        self.segments.append(seg)
        if self.hooks.wants_segments:
            self.hooks.segment(seg)

    def utterance(self, audio: np.ndarray, frames: Iterator[tuple[np.ndarray, np.ndarray]], T: int,
                  left_speaks: bool, who: str, span: tuple[float, float],
                  poll: Callable[[], None] | None = None) -> None:  # fmt: skip
        """Write one utterance: ``audio`` (float32, T frames long) and T (speaker, listener) frames.

        ``left_speaks`` puts the speaker on the left; ``who`` names it in the progress
        messages; ``span`` is the part of the progress bar it fills; ``poll`` runs
        after every frame.
        """
        self.writer.add_audio(audio)
        lo, hi = span
        for i, (sp, li) in enumerate(frames, 1):
            left, right = (sp, li) if left_speaks else (li, sp)
            self.writer.write(self.comp.compose(left, right, 0 if left_speaks else 1))
            if self.frames == 0:  # from the start of the work to the first frame out
                self.times["first_frame"] = time.perf_counter() - self.started
            self.frames += 1
            if poll is not None:
                poll()
            if i % FPS == 0 or i == T:
                self.hooks.progress(
                    lo + (hi - lo) * i / T, f"{who} speaking: {i / FPS:.1f} of {T / FPS:.1f} s rendered"
                )

    @property
    def duration_s(self) -> float:
        return self.frames / FPS

    def __enter__(self) -> ClipRender:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.writer.__exit__(exc_type, exc, tb)
        self.times["motion"] = self.t_motion
        self.times["render_encode"] = time.perf_counter() - self.t_open - self.t_motion
