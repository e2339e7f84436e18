"""Pieces shared by the motion generators: blinks, smoothing, joining turns."""

from __future__ import annotations

import numpy as np

from warmchat.motion.tracks import CH, FPS

# Blink shape at 25 fps: close in 2 frames, hold 1, open in 3 (about 240 ms).
_BLINK = np.array([0.45, 0.95, 1.0, 0.7, 0.35, 0.1], np.float32)


def blink_curve(
    n_frames: int,
    rng: np.random.Generator,
    per_minute: float,
    lengths: tuple[float, float] | None = None,
) -> np.ndarray:
    """(T,) eyelid closure in [0, 1] with blinks at random, irregular intervals.

    Intervals are drawn from a gamma distribution around the mean rate (people
    blink about 15-20 times a minute in conversation, with irregular gaps), the
    first blink not before 0.4 s so a joined clip does not blink at every seam.
    ``lengths`` (frames, lo-hi) draws each blink's length and stretches the
    standard shape to it (real blinks vary); None keeps the 6-frame shape (and
    draws nothing extra, so seeded tracks stay as they were).
    """
    out = np.zeros(n_frames, np.float32)
    mean_gap = 60.0 * FPS / max(per_minute, 1e-3)
    t = rng.uniform(0.4 * FPS, mean_gap)
    while t < n_frames:
        i = int(t)
        shape = _BLINK if lengths is None else _stretched_blink(rng.uniform(*lengths))
        seg = shape[: n_frames - i]
        out[i : i + len(seg)] = np.maximum(out[i : i + len(seg)], seg)
        t += max(rng.gamma(4.0, mean_gap / 4.0), 8)
    return out


def _stretched_blink(length: float) -> np.ndarray:
    """The blink shape resampled to ``length`` frames (at least 3: close, shut, open)."""
    n = max(3, round(length))
    x = np.linspace(0, len(_BLINK) - 1, n)
    return np.interp(x, np.arange(len(_BLINK)), _BLINK).astype(np.float32)


def add_blinks(values: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Add a blink curve to both eyes of a (T, K) track, in place, and return it."""
    for ch in ("eyeBlinkLeft", "eyeBlinkRight"):
        values[:, CH[ch]] = np.maximum(values[:, CH[ch]], curve)
    return values


def smooth_noise(n_frames: int, rng: np.random.Generator, cutoff_hz: float, dims: int = 1) -> np.ndarray:
    """(T, dims) smooth random signal with unit standard deviation and no energy above ~cutoff_hz.

    Gaussian-filtered white noise, normalised; drawn a little longer than needed
    so the filter's edges do not damp the ends.
    """
    pad = int(2 * FPS / max(cutoff_hz, 0.05))
    x = rng.standard_normal((n_frames + 2 * pad, dims))
    sigma = FPS / (2 * np.pi * max(cutoff_hz, 1e-3))
    half = int(3 * sigma) + 1
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    k /= k.sum()
    y = np.stack([np.convolve(x[:, d], k, mode="same") for d in range(dims)], 1)[pad : pad + n_frames]
    std = y.std(0, keepdims=True)
    return (y / np.where(std > 1e-8, std, 1.0)).astype(np.float32)


def blend_in(values: np.ndarray, start: np.ndarray | None, frames: int = 8) -> np.ndarray:
    """Start a (T, D) track from ``start`` (D,) and ease into it over ``frames`` frames.

    This is how a turn continues where the previous one ended: the first frame is
    exactly the last frame before, then a smooth (cosine) ease hands over.
    """
    if start is None or len(values) == 0:
        return values
    n = min(frames, len(values))
    w = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n, dtype=np.float32))  # 0 -> 1
    out = values.copy()
    out[:n] = (1 - w)[:, None] * np.asarray(start, np.float32)[None] + w[:, None] * values[:n]
    return out
