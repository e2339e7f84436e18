"""Measures on videos, the way the field reports them, computed from MediaPipe tracks.

Every function here takes plain arrays (landmark tracks, loudness envelopes,
phoneme timings) so that tests can feed it known inputs; ``track_video``
produces the landmark tracks from real or rendered clips. Distances are in
units of the inter-ocular distance (iod); angles in degrees; rates per minute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warmchat.metrics import FaceCues, best_lag_correlation, cues_from_landmarks
from warmchat.motion.tracks import FPS
from warmchat.render import face as F
from warmchat.render.tracer import quiet_native_stderr


# ----------------------------------------------------------------------------- tracking
def read_video(path, fps: int = FPS, max_seconds: float | None = None, every: int = 1) -> list[np.ndarray]:
    """RGB frames of a video resampled to ``fps`` (ffmpeg's frame-rate filter), optionally cut."""
    import imageio_ffmpeg

    params = ["-r", str(fps)]
    if max_seconds is not None:
        params += ["-t", f"{max_seconds:.3f}"]
    gen = imageio_ffmpeg.read_frames(str(path), output_params=params)
    meta = next(gen)
    w, h = meta["size"]
    return [np.frombuffer(b, np.uint8).reshape(h, w, 3).copy() for i, b in enumerate(gen) if i % every == 0]


def track_frames(frames: list[np.ndarray]) -> list[np.ndarray | None]:
    """(478, 3) landmarks per frame (pixels, z on the x scale), None where no face is found.

    Uses FaceMesh in video mode (detection once, then tracking), as one would on
    a real recording; the same settings measure real and generated clips.
    """
    import mediapipe as mp

    out: list[np.ndarray | None] = []
    with quiet_native_stderr():
        mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False, max_num_faces=1, refine_landmarks=True
        )
        first = mesh.process(np.ascontiguousarray(frames[0])) if frames else None  # its first call logs too
    with mesh:
        for i, fr in enumerate(frames):
            h, w = fr.shape[:2]
            res = first if i == 0 else mesh.process(np.ascontiguousarray(fr))
            if res.multi_face_landmarks:
                lm = res.multi_face_landmarks[0].landmark
                out.append(np.array([[p.x * w, p.y * h, p.z * w] for p in lm], np.float32))
            else:
                out.append(None)
    return out


def detection_rate(tracks: list[np.ndarray | None]) -> float:
    """Share of frames in which a face was found."""
    return float(np.mean([t is not None for t in tracks])) if tracks else 0.0


def cue_series(tracks: list[np.ndarray | None]) -> dict[str, np.ndarray]:
    """Per-frame cues (mouth opening, corner lift, brows, eyes) as arrays; NaN where no face."""
    names = list(FaceCues.__dataclass_fields__)
    out = {n: np.full(len(tracks), np.nan) for n in names}
    for i, t in enumerate(tracks):
        if t is not None:
            c = cues_from_landmarks(t)
            for n in names:
                out[n][i] = getattr(c, n)
    return out


# ----------------------------------------------------------------------------- head pose
def _normalised(lm: np.ndarray) -> np.ndarray:
    x = lm[:468].astype(np.float64)  # the mesh without the irises
    x = x - x.mean(0)
    return x / np.sqrt((x**2).sum(1).mean())


def head_pose(tracks: list[np.ndarray | None]) -> np.ndarray:
    """(T, 3) yaw, pitch, roll in degrees of every frame relative to the first face found.

    The rotation aligning the reference mesh to each frame's mesh (Kabsch, on
    3-D landmarks centred and scaled), decomposed as R = Rz(roll) Ry(yaw)
    Rx(pitch) in the renderer's convention (x right, y down, z away). NaN rows
    where no face was found.
    """
    ref = next((_normalised(t) for t in tracks if t is not None), None)
    out = np.full((len(tracks), 3), np.nan)
    if ref is None:
        return out
    for i, t in enumerate(tracks):
        if t is None:
            continue
        x = _normalised(t)
        u, _, vt = np.linalg.svd(x.T @ ref)  # maps ref -> x: x ~ ref @ R.T
        d = np.sign(np.linalg.det(u @ vt))
        r = u @ np.diag([1, 1, d]) @ vt
        yaw = np.degrees(np.arcsin(np.clip(r[2, 0], -1, 1)))
        pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
        roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
        out[i] = (yaw, pitch, roll)
    return out


# ----------------------------------------------------------------------------- lip sync
@dataclass
class LipSync:
    correlation: float  # Pearson r of mouth opening vs loudness at the best lag
    lag_frames: int  # best lag within +-max_lag: + means the mouth lags the sound
    bilabial_closed: float | None  # share of p/b/m phonemes at which the lips are closed (None: no timings)
    n_bilabials: int


def lip_sync(mouth: np.ndarray, loudness: np.ndarray, phonemes=None, max_lag: int = 4) -> LipSync:
    """Lip sync of a clip from its per-frame mouth opening and speech loudness.

    Frames without a face (NaN) are filled from their neighbours. A bilabial
    counts as closed when, within one frame of its centre, the opening falls
    below a quarter of the clip's 90th-percentile opening.
    """
    m = np.asarray(mouth, float)
    if np.isnan(m).all():
        return LipSync(float("nan"), 0, None, 0)
    idx = np.arange(len(m))
    ok = ~np.isnan(m)
    m = np.interp(idx, idx[ok], m[ok])
    n = min(len(m), len(loudness))
    r, lag = best_lag_correlation(np.asarray(loudness, float)[:n], m[:n], max_lag)
    if not phonemes:
        return LipSync(r, lag, None, 0)
    thresh = 0.25 * np.percentile(m, 90)
    bil = [p for p in phonemes if p.symbol in ("p", "b", "m")]
    closed = 0
    for p in bil:
        c = int((p.start + p.end) / 2 * FPS)
        window = m[max(c - 1, 0) : min(c + 2, len(m))]
        closed += int(len(window) > 0 and window.min() < thresh)
    return LipSync(r, lag, closed / len(bil) if bil else None, len(bil))


def median_f0(audio: np.ndarray, sample_rate: int, fmin: float = 60.0, fmax: float = 400.0) -> float:
    """Median pitch (Hz) of a voice: per 40 ms frame (10 ms hop) the autocorrelation's highest peak
    between the lags of ``fmax`` and ``fmin``, over frames loud enough (within 20 dB of the
    loudest) and periodic enough (normalised peak >= 0.5). NaN when no frame is voiced."""
    x = np.asarray(audio, np.float64)
    n, hop = int(0.04 * sample_rate), int(0.01 * sample_rate)
    if x.size < n:
        return float("nan")
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop]  # (F, n)
    frames = frames - frames.mean(1, keepdims=True)
    energy = (frames**2).sum(1)
    loud = energy > energy.max() * 10 ** (-20 / 10)
    spec = np.fft.rfft(frames[loud], 2 * n)
    ac = np.fft.irfft(np.abs(spec) ** 2)[:, :n] / energy[loud, None]  # (F', n), 1 at lag 0
    lo, hi = int(sample_rate / fmax), min(int(sample_rate / fmin), n - 1)
    lag = lo + ac[:, lo:hi].argmax(1)
    voiced = ac[np.arange(len(lag)), lag] >= 0.5
    return float(np.median(sample_rate / lag[voiced])) if voiced.any() else float("nan")


# ----------------------------------------------------------------------------- motion
def rolling_median(x: np.ndarray, half: int) -> np.ndarray:
    """(T,) median of ``x`` over a window of ``2 * half + 1`` samples centred on each, edges repeated.

    The open-eye level of the blink measures: a blink is too brief to move it.
    """
    pad = np.pad(np.asarray(x, float), half, mode="edge")
    return np.array([np.median(pad[i : i + 2 * half + 1]) for i in range(len(x))])


def blink_rate(eye_open: np.ndarray, fps: int = FPS, drop: float = 0.75, max_frames: int = 10) -> float:
    """Blinks per minute: brief dips of the eye opening below ``drop`` x its local level.

    The local level is the rolling median over 2 s, so slow changes (a squint, a
    head turn) do not count; a dip must last at most ``max_frames`` frames
    (blinks take 100-400 ms). FaceMesh under-reads closed lids (a shut eye still
    measures ~0.7 of open), hence the shallow threshold.
    """
    e = np.asarray(eye_open, float)
    e = e[~np.isnan(e)]
    if len(e) < fps:
        return float("nan")
    low = e < drop * rolling_median(e, fps)
    blinks, run = 0, 0
    for x in np.r_[low, False]:
        if x:
            run += 1
        else:
            blinks += int(0 < run <= max_frames)
            run = 0
    return blinks / (len(e) / fps / 60)


def landmark_jitter(tracks: list[np.ndarray | None]) -> float:
    """Median per-point |second difference| of landmarks after removing head motion, iod units.

    Each frame is aligned to the first by a 2-D similarity (Procrustes), so what
    remains is expression and tracking noise; the second difference weighs
    frame-to-frame shaking over smooth movement.
    """
    good = [t for t in tracks if t is not None]
    if len(good) < 3:
        return float("nan")
    ref = good[0][:468, :2].astype(np.float64)
    ref_c = ref - ref.mean(0)
    aligned = []
    for t in good:
        x = t[:468, :2].astype(np.float64)
        xc = x - x.mean(0)
        u, s, vt = np.linalg.svd(xc.T @ ref_c)
        r = u @ vt
        scale = s.sum() / (xc**2).sum()
        aligned.append(xc @ r * scale)
    a = np.stack(aligned)  # (T, 468, 2)
    iod = F.face_geometry(good[0])["iod"]
    d2 = np.linalg.norm(a[2:] - 2 * a[1:-1] + a[:-2], axis=-1)  # (T-2, 468)
    return float(np.median(d2.mean(0)) / iod)


def motion_stats(tracks: list[np.ndarray | None], fps: int = FPS) -> dict[str, float]:
    """Head-pose spread and smoothness, blink rate and landmark jitter of a clip."""
    pose = head_pose(tracks)
    ok = ~np.isnan(pose).any(1)
    p = pose[ok]
    out: dict[str, float] = {}
    for i, name in enumerate(("yaw", "pitch", "roll")):
        out[f"{name}_std_deg"] = float(np.std(p[:, i])) if len(p) > 1 else float("nan")
        out[f"{name}_speed_deg_per_frame"] = (
            float(np.mean(np.abs(np.diff(p[:, i])))) if len(p) > 1 else float("nan")
        )
    eyes = cue_series(tracks)["eye_open"]
    out["blinks_per_min"] = blink_rate(eyes, fps)
    out["landmark_jitter_iod"] = landmark_jitter(tracks)
    out["seconds"] = len(tracks) / fps
    return out
