"""Measures on rendered frames, by tracing them again with MediaPipe.

Used by tests and the benchmark: they check what a viewer would see (does the
mouth open, do the corners rise) rather than what we asked the renderer for.
All distances are in units of the inter-ocular distance of the traced face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warmchat.render import face as F


@dataclass
class FaceCues:
    """Expression cues of one traced face, in inter-ocular units (iod)."""

    mouth_open: float  # gap between the inner lips
    corner_lift: float  # how far the mouth corners sit above the lip centre line (+ = smile)
    brow_height: float  # mean height of the brows above the eyes
    inner_brow_height: float  # height of the inner brow ends above the eyes
    eye_open: float  # mean lid gap of both eyes
    nose_x: float  # nose tip, horizontal offset from the eye midpoint (+ = image right)


def cues_from_landmarks(lm: np.ndarray) -> FaceCues:
    g = F.face_geometry(lm)
    iod, right, down = g["iod"], g["right"], g["down"]
    mid = (g["eye_r"] + g["eye_l"]) / 2

    def v(i) -> np.ndarray:
        return (lm[i, :2] - mid) @ down / iod

    def u(i) -> np.ndarray:
        return (lm[i, :2] - mid) @ right / iod

    mouth_open = float(np.median(v(F.LIPS_LOWER_INNER[2:7]) - v(F.LIPS_UPPER_INNER[3:8])))
    lip_centre = (v(13) + v(14)) / 2
    corner_lift = float(lip_centre - (v(F.MOUTH_CORNERS[0]) + v(F.MOUTH_CORNERS[1])) / 2)
    eye_line = (v(F.EYE_R_UPPER + F.EYE_R_LOWER).mean() + v(F.EYE_L_UPPER + F.EYE_L_LOWER).mean()) / 2
    brow = float(eye_line - v(F.BROW_R + F.BROW_L).mean())
    inner = float(eye_line - v([F.BROW_R[4], F.BROW_R[9], F.BROW_L[4], F.BROW_L[9]]).mean())
    eye_open = float(
        (np.median(v(F.EYE_R_LOWER) - v(F.EYE_R_UPPER)) + np.median(v(F.EYE_L_LOWER) - v(F.EYE_L_UPPER))) / 2
    )
    return FaceCues(mouth_open, corner_lift, brow, inner, eye_open, float(u(1)))


def measure(frame: np.ndarray, tracer=None) -> FaceCues | None:
    """Trace ``frame`` (H, W, 3 RGB) and return its cues, or None when no face is found.

    ``tracer``: a ``render.tracer.FaceTracer`` to reuse over many frames (else a fresh one).
    """
    from warmchat.render.tracer import FaceTracer  # MediaPipe lives there

    faces = (tracer or FaceTracer()).landmarks(frame)
    return cues_from_landmarks(faces[0]) if faces else None


def best_lag_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 4) -> tuple[float, int]:
    """Highest Pearson correlation of ``a`` and ``b`` shifted by up to ``max_lag`` frames, and its lag.

    A positive lag means ``b`` is delayed relative to ``a``.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    best = (-2.0, 0)
    for lag in range(-max_lag, max_lag + 1):
        x, y = (a[: len(a) - lag], b[lag:]) if lag >= 0 else (a[-lag:], b[: len(b) + lag])
        n = min(len(x), len(y))
        if n < 3 or x[:n].std() < 1e-9 or y[:n].std() < 1e-9:
            continue
        r = float(np.corrcoef(x[:n], y[:n])[0, 1])
        if r > best[0]:
            best = (r, lag)
    return best
