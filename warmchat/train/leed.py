"""Calibrate LEED, the listener's dictionary, on real faces.

``python -m warmchat.train.leed [--quick] [--out PATH] [--seed 0]``

1. Track every video in ``shared/data/head-motion/`` at 25 fps with MediaPipe
   FaceMesh (``measures.read_video`` / ``track_frames``; landmarks cached under
   ``runs/leed/``) and measure each clip with ``listening_stats``: blinks
   (rate, length), nods (chin-down pitch events: rate, depth, down and up
   times), pitch and roll spread, smiles (mouth-corner lift events) and brow
   raises (brow-height events): rate, size, onset and offset. The head pose is
   CRHMG's extraction (``pose_from_landmarks`` + ``clean_track``); the cues are
   the bench's (``cue_series``, ``blink_rate``).
2. Probe the renderer: render known channel values, poses and blinks on the
   default portraits, re-detect them with the same measures, and fit how far
   one channel unit / one degree moves each measure. This converts a measured
   figure (iod, degrees as read) into the renderer's units.
3. Probe the head motion: how many nods does the CRHMG listener make by
   itself, as the measure reads them; LEED adds only the rest.
4. Derive ``LEEDCalibration`` (see ``derive`` for the reasoning per field).
5. Check it: render a neutral, a happy and a sad listener to eSpeak speech,
   re-detect, measure them like the real clips (skipped with ``--quick``).
6. Write ``assets/models/leed.json``: the measured figures, the probes, the
   derived parameters, the check, the data files with their SHA-256, the seed.

The videos carry no emotion labels, so only the neutral listener is measured;
emotions stay factors on it (``listener.LEED_TABLE``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from warmchat.motion.listener import (
    BROW_FLASH,
    CALIBRATION_FORMAT,
    CALIBRATION_PATH,
    CALIBRATION_VERSION,
    SMILE,
    LEEDCalibration,
)
from warmchat.motion.tracks import CH, FPS, K
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, REPO_DIR, SHARED_VIDEOS

log = logging.getLogger(__name__)

VIDEO_DIR = SHARED_VIDEOS
CACHE_DIR = REPO_DIR / "runs" / "leed"
QUICK_OUT = CACHE_DIR / "quick.json"
CACHE_VERSION = 1  # bump when the tracking changes, to invalidate the cache

# Share of a raised-cosine rise spent between 20 % and 100 % of its height: the
# measures time events from 20 % (robust to a noisy base), LEED's pulses are
# specified by their full rise, so full = measured / this.
RISE_20_SHARE = 1 - math.acos(1 - 2 * 0.2) / math.pi  # 0.705

# Text the check step's speaker says (about 10 s of eSpeak, with phrase pauses).
CHECK_TEXT = (
    "I went down to the harbour this morning. The boats were coming in, and the gulls were loud. "
    "Then the sun came out, and everything was bright. I sat on the wall for a while and watched them."
)


# ----------------------------------------------------------------------------- 1. measures
@dataclass(frozen=True)
class EventConfig:
    """What counts as an event in a per-frame series at 25 fps."""

    prominence: float  # least rise above the higher of the lowest points on either side (series units)
    window_s: float  # the span around the peak those lowest points are looked for in
    half_width_s: tuple[float, float]  # width at half height: the shortest and longest such event
    smooth_frames: float  # Gaussian sigma against landmark jitter (0: none)


@dataclass(frozen=True)
class MeasureConfig:
    """The event definitions; each is one number a reader can check against the plots."""

    # Nod: the chin goes down >= 2 degrees (as read) and comes back within ~1 s:
    # above tracking jitter (~0.2 degrees) and the "few degrees" of a backchannel nod.
    nod: EventConfig = EventConfig(2.0, 2.0, (0.12, 0.6), 0.0)  # pose is smoothed by clean_track already
    # Smile: the mouth corners rise >= 0.03 iod against the lip centre (4x the
    # median frame-to-frame change of the cue on the talking clips) for >= 0.2 s.
    smile: EventConfig = EventConfig(0.03, 4.0, (0.2, 3.0), 2.0)
    # Brow raise: the brows rise >= 0.03 iod above the eyes; a flash lasts ~1/3 s.
    brow: EventConfig = EventConfig(0.03, 3.0, (0.1, 2.0), 1.5)
    rise_level: float = 0.2  # onsets and offsets are timed from this share of the rise to the peak
    max_blink_frames: int = 10  # blink_rate's longest dip (400 ms)


@dataclass
class Event:
    """One event in a series."""

    peak: int  # frame of the peak
    size: float  # prominence (series units)
    onset_s: float  # from rise_level of the rise to the peak
    offset_s: float  # from the peak back down to rise_level


def _filled(x: np.ndarray) -> np.ndarray:
    """(T,) the series with NaN (no face) interpolated from its neighbours."""
    x = np.asarray(x, float)
    ok = ~np.isnan(x)
    if ok.all() or not ok.any():
        return x
    idx = np.arange(len(x))
    return np.interp(idx, idx[ok], x[ok])


def find_events(x: np.ndarray, cfg: EventConfig, rise_level: float = 0.2) -> list[Event]:
    """Peaks of a (T,) series that stand out by ``cfg.prominence`` and last as an event should."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks, peak_widths

    x = _filled(x)
    if len(x) < 3 or np.isnan(x).all():
        return []
    if cfg.smooth_frames > 0:
        x = gaussian_filter1d(x, cfg.smooth_frames, mode="nearest")
    wlen = 2 * int(cfg.window_s * FPS / 2) + 1
    lo, hi = (w * FPS for w in cfg.half_width_s)
    peaks, props = find_peaks(x, prominence=cfg.prominence, wlen=wlen, width=(lo, hi))
    if not len(peaks):
        return []
    data = (props["prominences"], props["left_bases"], props["right_bases"])
    _, _, left, right = peak_widths(x, peaks, rel_height=1 - rise_level, prominence_data=data)
    return [
        Event(int(p), float(s), float((p - a) / FPS), float((b - p) / FPS))
        for p, s, a, b in zip(peaks, props["prominences"], left, right)
    ]


def blink_lengths(eye_open: np.ndarray, max_frames: int = 10) -> list[int]:
    """Number of blinks lasting 1, 2, ... ``max_frames`` frames, by ``measures.blink_rate``'s own rule.

    ``blink_rate(max_frames=k)`` counts the dips of at most k frames, so the
    difference between k and k - 1 counts those of exactly k frames: the same
    definition of a blink as the bench's rate, without a second detector.
    """
    from warmchat.bench.measures import blink_rate

    e = np.asarray(eye_open, float)
    minutes = np.count_nonzero(~np.isnan(e)) / FPS / 60
    if minutes * 60 < 1:
        return [0] * max_frames
    counts = [round(blink_rate(e, FPS, max_frames=k) * minutes) for k in range(max_frames + 1)]
    return [max(counts[k] - counts[k - 1], 0) for k in range(1, max_frames + 1)]


def head_pieces(tracks: list[np.ndarray | None]) -> list[np.ndarray]:
    """(T, 6) head-pose pieces at 25 fps from landmark tracks: CRHMG's extraction (relative to the median)."""
    from warmchat.train.crhmg import ExtractConfig, clean_track, pose_from_landmarks

    return clean_track(pose_from_landmarks(tracks), float(FPS), ExtractConfig())


def listening_stats(tracks: list[np.ndarray | None], cfg: MeasureConfig | None = None) -> dict:
    """What a face does over a clip (25 fps landmark tracks), measured the same on real and rendered faces.

    Scalars (rates per minute, sizes in iod or degrees as read, times in s) and
    the event lists they come from (``events``), for pooling over clips.
    """
    from warmchat.bench.measures import blink_rate, cue_series, detection_rate

    cfg = cfg or MeasureConfig()
    seconds = len(tracks) / FPS
    minutes = max(seconds / 60, 1e-9)
    out: dict = {"seconds": round(seconds, 2), "detected": detection_rate(tracks)}
    pieces = [p for p in head_pieces(tracks) if len(p) >= 3] if any(t is not None for t in tracks) else []
    nods = [e for p in pieces for e in find_events(p[:, 1], cfg.nod, cfg.rise_level)]
    up_nods = [e for p in pieces for e in find_events(-p[:, 1], cfg.nod, cfg.rise_level)]
    pose = np.concatenate(pieces) if pieces else np.full((1, 6), np.nan)
    cues = cue_series(tracks)
    smiles = find_events(cues["corner_lift"], cfg.smile, cfg.rise_level)
    brows = find_events(cues["brow_height"], cfg.brow, cfg.rise_level)
    lengths = blink_lengths(cues["eye_open"], cfg.max_blink_frames)
    out.update(
        blinks_per_min=blink_rate(cues["eye_open"], FPS, max_frames=cfg.max_blink_frames),
        nods_per_min=len(nods) / minutes,
        up_nods_per_min=len(up_nods) / minutes,
        pitch_std_deg=float(np.std(pose[:, 1])),
        roll_std_deg=float(np.std(pose[:, 2])),
        roll_abs_p75_deg=float(np.percentile(np.abs(pose[:, 2]), 75)),
        smiles_per_min=len(smiles) / minutes,
        brow_raises_per_min=len(brows) / minutes,
        corner_lift_mean_iod=float(np.nanmean(cues["corner_lift"])),
        corner_lift_std_iod=float(np.nanstd(cues["corner_lift"])),
        brow_height_std_iod=float(np.nanstd(cues["brow_height"])),
    )
    out["events"] = {
        name: [[round(e.size, 4), round(e.onset_s, 3), round(e.offset_s, 3)] for e in evs]
        for name, evs in (("nod", nods), ("smile", smiles), ("brow", brows))
    }
    out["events"]["blink_frames_histogram"] = lengths  # blinks of 1..max_blink_frames frames
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def track_video(path: Path, max_seconds: float | None, cache_dir: Path) -> list[np.ndarray | None]:
    """(478, 3) landmarks per frame at 25 fps (None without a face), cached per file and length."""
    from warmchat.bench.measures import read_video, track_frames

    st = path.stat()
    cut = "all" if max_seconds is None else f"{max_seconds:g}s"
    key = cache_dir / f"{path.stem}_v{CACHE_VERSION}_{st.st_size}_{int(st.st_mtime)}_{cut}.npy"
    if key.is_file():
        lm = np.load(key, allow_pickle=False)
    else:
        t0 = time.perf_counter()
        tracks = track_frames(read_video(path, max_seconds=max_seconds))
        lm = np.stack([np.full((478, 3), np.nan, np.float32) if t is None else t for t in tracks])
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(key, lm.astype(np.float32))
        log.info("tracked %s (%d frames) in %.1f s", path.name, len(lm), time.perf_counter() - t0)
    return [None if np.isnan(x).any() else x for x in lm]


def _q(values, qs=(25, 50, 75)) -> list[float] | None:
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    return [round(float(np.percentile(v, q)), 4) for q in qs] if len(v) else None


def summarise(clips: dict[str, dict]) -> dict:
    """Across clips: per-clip rates and spreads (min, quartiles, max) and pooled event sizes and times."""
    scalars = [k for k, v in next(iter(clips.values())).items() if isinstance(v, float) and k != "detected"]
    out: dict = {"clips": len(clips), "seconds": round(sum(c["seconds"] for c in clips.values()), 2)}
    out["per_clip"] = {
        k: dict(zip(("min", "p25", "p50", "p75", "max"), _q([c[k] for c in clips.values()], (0, 25, 50, 75, 100))))
        for k in scalars
    }  # fmt: skip
    pooled: dict = {}
    for name in ("nod", "smile", "brow"):
        ev = np.array([e for c in clips.values() for e in c["events"][name]], float).reshape(-1, 3)
        pooled[name] = {
            "count": len(ev),
            "size_p25_p50_p75": _q(ev[:, 0]),
            "onset_s_p25_p50_p75": _q(ev[:, 1]),
            "offset_s_p25_p50_p75": _q(ev[:, 2]),
        }
    hist = np.sum([c["events"]["blink_frames_histogram"] for c in clips.values()], 0)
    runs = np.repeat(np.arange(1, len(hist) + 1), hist)
    pooled["blink"] = {"count": int(hist.sum()), "frames_p25_p50_p75": _q(runs), "histogram": hist.tolist()}
    out["pooled_events"] = pooled
    return out


# ----------------------------------------------------------------------------- 2. renderer probe
def _fit_slope(x: np.ndarray, y: np.ndarray) -> float:
    ok = ~np.isnan(y)
    return float(np.polyfit(x[ok], y[ok], 1)[0]) if ok.sum() >= 2 else float("nan")


def probe_renderer(portraits: tuple[Path, ...], blink_lengths_frames=(4, 6, 8, 10, 12)) -> dict:
    """How the renderer's units read back through the measures, per portrait and averaged.

    Renders, on each portrait: the smile (``SMILE``) and brow flash
    (``BROW_FLASH``) at 0, 0.25, ... 1; pitch and roll at -6 ... 6 degrees; and
    blinks of several lengths between open-eyed frames. All are tracked in one
    video-mode pass, like a clip. Returns iod per channel unit (corner lift,
    brow height), degrees read per degree applied, and the blink length read
    (frames below ``blink_rate``'s threshold) per blink length rendered.
    """
    from warmchat.bench.measures import cue_series, head_pose, track_frames
    from warmchat.motion.common import _stretched_blink
    from warmchat.render.face import load_portrait
    from warmchat.render.warp import WarpRenderer

    levels = np.linspace(0.0, 1.0, 5)
    degrees = np.linspace(-6.0, 6.0, 7)
    rest = np.array([0, 0, 0, 0, 0, 1], np.float32)
    per: dict[str, dict] = {}
    for path in portraits:
        r = WarpRenderer(load_portrait(path))
        frames, blocks = [], {}

        def add(name: str, exprs: list, poses: list, frames=frames, blocks=blocks, r=r):
            blocks[name] = slice(len(frames), len(frames) + len(exprs))
            frames.extend(r.render(e, p) for e, p in zip(exprs, poses))

        def expr(channels: dict[str, float], v: float) -> np.ndarray:
            e = np.zeros(K, np.float32)
            for ch, w in channels.items():
                e[CH[ch]] = w * v
            return e

        add("smile", [expr(SMILE, v) for v in levels], [rest] * len(levels))
        add("brow", [expr(BROW_FLASH, v) for v in levels], [rest] * len(levels))
        for i, name in ((1, "pitch"), (2, "roll")):
            poses = [rest.copy() for _ in degrees]
            for p, d in zip(poses, degrees):
                p[i] = d
            add(name, [np.zeros(K, np.float32)] * len(degrees), poses)
        for n in blink_lengths_frames:
            closure = np.r_[np.zeros(15), _stretched_blink(n), np.zeros(15)]
            add(
                f"blink{n}",
                [expr({"eyeBlinkLeft": 1, "eyeBlinkRight": 1}, c) for c in closure],
                [rest] * len(closure),
            )
        tracks = track_frames(frames)
        cues, pose = cue_series(tracks), head_pose(tracks)
        d = {
            "corner_lift_iod_per_unit": _fit_slope(levels, cues["corner_lift"][blocks["smile"]]),
            "brow_height_iod_per_unit": _fit_slope(levels, cues["brow_height"][blocks["brow"]]),
            "pitch_read_per_deg": _fit_slope(degrees, pose[blocks["pitch"], 1]),
            "roll_read_per_deg": _fit_slope(degrees, pose[blocks["roll"], 2]),
            "blink_read_frames": {},
        }
        for n in blink_lengths_frames:
            hist = blink_lengths(cues["eye_open"][blocks[f"blink{n}"]])
            d["blink_read_frames"][str(n)] = (
                float(np.average(np.arange(1, len(hist) + 1), weights=hist)) if sum(hist) else None
            )
        per[path.stem] = d
    keys = [k for k in next(iter(per.values())) if k != "blink_read_frames"]
    mean = {k: float(np.nanmean([p[k] for p in per.values()])) for k in keys}
    # A blink length counts where every portrait shows it (FaceMesh under-reads
    # closed lids, so on some faces short blinks do not cross the threshold).
    pairs = []
    for n in blink_lengths_frames:
        read = [p["blink_read_frames"][str(n)] for p in per.values()]
        if all(x is not None for x in read):
            pairs.append((n, float(np.mean(read))))
    mean["blink_read_frames"] = {str(n): round(x, 3) for n, x in pairs}
    return {"portraits": per, "mean": mean}


# ----------------------------------------------------------------------------- 3. head-motion probe
def probe_head_motion(read_gain: float, seconds: float, seeds: int, cfg: MeasureConfig | None = None) -> dict:
    """Nods per minute the CRHMG listener (neutral) makes by itself, as the nod measure would read them.

    Its pitch is scaled by the renderer's read-back gain and smoothed like
    ``clean_track``, then counted with the nod definition.
    """
    from scipy.ndimage import gaussian_filter1d

    from warmchat.emotion import EmotionState
    from warmchat.motion.crhmg import CRHMGHeadMotion

    cfg = cfg or MeasureConfig()
    gen = CRHMGHeadMotion()
    T = int(seconds * FPS)
    counts = []
    for s in range(seeds):
        track = gen.generate("listener", EmotionState.of("neutral", 0.5), T, np.random.default_rng(1000 + s))
        pitch = gaussian_filter1d(track.pitch.astype(float) * read_gain, 1.0, mode="nearest")
        counts.append(len(find_events(pitch, cfg.nod, cfg.rise_level)))
    return {
        "generator": "crhmg" if gen.fallback is None else f"noise fallback ({gen.fallback})",
        "seconds": seconds * seeds,
        "nods_per_min": float(np.sum(counts) / (seconds * seeds / 60)),
    }


# ----------------------------------------------------------------------------- 4. derive
@dataclass
class CalibrateConfig:
    """What the calibration reads and how it turns measures into LEED's ranges."""

    videos: tuple[Path, ...] | None = None  # None: every *.mp4 in VIDEO_DIR
    max_seconds: float | None = None  # read at most this much of each video (None: all)
    probe_portraits: tuple[Path, ...] = (DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT)
    rate_quantile: float = 25.0  # listeners' event rates: this percentile over the clips (see derive)
    range_quantiles: tuple[float, float] = (25.0, 75.0)  # sampled ranges: this span of the pooled events
    head_seconds: float = 60.0  # length of each CRHMG probe track
    head_seeds: int = 8  # CRHMG probe tracks
    check: bool = True  # render and measure neutral / happy / sad listeners (step 5)
    check_seeds: int = 2  # clips per emotion in the check
    seed: int = 0  # the check's seed (steps 1-4 draw nothing at random)
    measure: MeasureConfig = field(default_factory=MeasureConfig)


def _range(pooled: dict, key: str, scale: float, lo: float, hi: float, fallback: tuple[float, float]):
    """(p25, p75) of a pooled figure divided by ``scale``, clipped to [lo, hi]; ``fallback`` without events."""
    q = pooled.get(key)
    if not q or not math.isfinite(scale) or scale <= 0:
        return fallback
    a, b = (float(np.clip(v / scale, lo, hi)) for v in (q[0], q[2]))
    return (round(a, 3), round(max(a, b), 3))


def derive(summary: dict, probe: dict, head: dict, cfg: CalibrateConfig) -> tuple[LEEDCalibration, dict]:
    """LEED's neutral listener from the real clips' measures, in the renderer's units.

    Rules (documented in the card, and returned as ``notes``):

    * **Rates of events a listener chooses** (nods, smiles, brow raises): the
      ``rate_quantile`` (25th percentile) of the clips' rates. The clips are
      people talking or acting expressions, none listening; a listener is the
      quieter role (CRHMG moves listeners at ~0.55x a speaker), and the lower
      quartile falls between the calm talkers (none of these events) and the
      calmest actor.
    * **Blink rate**: the median of the clips' rates (blinking is not a
      listening behaviour; the median ignores lid flutter read as blinks).
    * **What one event looks like** (nod depth, smile and brow size, onset and
      offset times, blink length): the 25th-75th percentiles of all events
      pooled, which LEED samples from, one draw per event.
    * **Units**: sizes are divided by the renderer probe's read-back gain (iod
      per channel unit, degrees read per degree applied), so a rendered event
      reads back as large as the real one; onset/offset times are measured from
      20 % of the rise and divided by ``RISE_20_SHARE`` to give the full rise
      of LEED's raised-cosine pulse; blink lengths are mapped through the
      probe's read-back lengths (linear fit).
    * **Nods**: the CRHMG listener already makes some pitch dips that the
      measure counts; LEED adds the rest of the target, and at least a third of
      it, so there are always nods to put on the speaker's pauses.
    * **Tilt**: the median over clips of the 75th percentile of |roll|, divided
      by the roll read-back gain.
    """
    pc, pooled, m = summary["per_clip"], summary["pooled_events"], probe["mean"]
    base = LEEDCalibration()
    q = cfg.rate_quantile
    qk = {25.0: "p25", 50.0: "p50", 75.0: "p75"}.get(q, "p25")

    def rate(key: str) -> float:
        return round(float(pc[key][qk]), 3) if pc.get(key) and pc[key][qk] is not None else 0.0

    notes: dict = {"rate_quantile": q, "range_quantiles": list(cfg.range_quantiles)}
    # Nods.
    target = rate("nods_per_min")
    own = max(target - head["nods_per_min"], target / 3)
    notes["nods"] = {"target_per_min": target, "crhmg_listener_per_min": round(head["nods_per_min"], 3)}

    def timing(name: str, which: str, fallback):
        return _range(pooled[name], f"{which}_s_p25_p50_p75", RISE_20_SHARE, 0.04, 3.0, fallback)

    # Blink length: read-back frames r = a * n + b from the probe; n = (r - b) / a.
    bf = base.blink_frames
    read = probe["mean"].get("blink_read_frames", {})
    bq = pooled["blink"]["frames_p25_p50_p75"]
    if len(read) >= 2 and bq:
        n = np.array([float(k) for k in read])
        r = np.array(list(read.values()))
        a, b = np.polyfit(n, r, 1)
        if a > 0:
            lo, hi = (float(np.clip((x - b) / a, 3.0, 15.0)) for x in (bq[0], bq[2]))
            bf = (round(lo, 2), round(max(lo, hi), 2))
            notes["blink_read_fit"] = {"slope": round(float(a), 4), "intercept": round(float(b), 4)}
    blink = pc.get("blinks_per_min", {}).get("p50")
    tilt = pc.get("roll_abs_p75_deg", {}).get("p50")
    cal = LEEDCalibration(
        blinks_per_min=round(float(blink), 3) if blink is not None else base.blinks_per_min,
        blink_frames=bf,
        nods_per_min=round(own, 3),
        nod_depth_deg=_range(pooled["nod"], "size_p25_p50_p75", m["pitch_read_per_deg"], 0.5, 15.0, base.nod_depth_deg),
        nod_down_s=timing("nod", "onset", base.nod_down_s),
        nod_up_s=timing("nod", "offset", base.nod_up_s),
        tilt_deg=round(float(tilt) / m["roll_read_per_deg"], 3) if tilt is not None else base.tilt_deg,
        smile_per_min=rate("smiles_per_min"),
        smile_amp=_range(pooled["smile"], "size_p25_p50_p75", m["corner_lift_iod_per_unit"], 0.05, 1.0, base.smile_amp),
        smile_on_s=timing("smile", "onset", base.smile_on_s),
        smile_off_s=timing("smile", "offset", base.smile_off_s),
        brow_per_min=rate("brow_raises_per_min"),
        brow_amp=_range(pooled["brow"], "size_p25_p50_p75", m["brow_height_iod_per_unit"], 0.05, 1.0, base.brow_amp),
        brow_on_s=timing("brow", "onset", base.brow_on_s),
        brow_off_s=timing("brow", "offset", base.brow_off_s),
        source="derived",
    )  # fmt: skip
    return cal, notes


# ----------------------------------------------------------------------------- 5. check
def render_listener(
    pipe, speech, emotion, seed: int, listener_portrait: Path = DEFAULT_USER_PORTRAIT
) -> list[np.ndarray]:
    """Frames of ``listener_portrait`` listening to ``speech`` as ``emotion``, through the pipeline's own path.

    A one-node tree makes the listener's cumulative emotion exactly ``emotion``;
    ``WarmChatPipeline.stage.frames`` then plans LEED, CRHMG and both renders.
    """
    from warmchat.dialogue.base import DEFAULT_PERSONA
    from warmchat.tree import ITT

    spk = pipe.make_avatar(DEFAULT_AGENT_PORTRAIT, "A", pipe.cfg.agent_voice, DEFAULT_PERSONA)
    lis = pipe.make_avatar(listener_portrait, "B", pipe.cfg.user_voice, DEFAULT_PERSONA)
    tree = ITT()
    node = tree.add_child(tree.root_id, "agent", "A", "", emotion)
    _, gen = pipe.stage.frames(spk, lis, speech, node, tree, np.random.default_rng(seed))
    return [li for _, li in gen]


def listener_figures(stats: list[dict]) -> dict:
    """The headline figures of rendered listener clips (means over clips)."""
    keys = ("corner_lift_mean_iod", "smiles_per_min", "nods_per_min", "blinks_per_min", "pitch_std_deg")
    return {k: round(float(np.mean([s[k] for s in stats])), 4) for k in keys} | {
        "seconds": round(float(sum(s["seconds"] for s in stats)), 2)
    }


def check_rendered(cal: LEEDCalibration, cfg: CalibrateConfig) -> dict:
    """Neutral, happy (0.8) and sad (0.8) listeners rendered to eSpeak speech, measured like the real clips."""
    from warmchat.bench.measures import track_frames
    from warmchat.emotion import EmotionState
    from warmchat.motion.listener import LEED
    from warmchat.pipeline import PipelineConfig, WarmChatPipeline

    pipe = WarmChatPipeline(PipelineConfig(seed=cfg.seed))
    pipe.motion.listener = LEED(strength=pipe.cfg.expression_strength, calibration=cal)
    speech = pipe.tts.synthesize(CHECK_TEXT)
    out: dict = {"speech_s": round(speech.duration, 2), "listener_portrait": DEFAULT_USER_PORTRAIT.name}
    for name, emo in (
        ("neutral", EmotionState.of("neutral", 0.0)),
        ("happy", EmotionState.of("happy", 0.8)),
        ("sad", EmotionState.of("sad", 0.8)),
    ):
        stats = [
            listening_stats(track_frames(render_listener(pipe, speech, emo, cfg.seed + s)), cfg.measure)
            for s in range(cfg.check_seeds)
        ]
        out[name] = listener_figures(stats)
    return out


# ----------------------------------------------------------------------------- run
def calibrate(cfg: CalibrateConfig, cache_dir: Path = CACHE_DIR) -> dict:
    """Steps 1-5; returns the leed.json document."""
    t0 = time.perf_counter()
    videos = sorted(cfg.videos) if cfg.videos is not None else sorted(VIDEO_DIR.glob("*.mp4"))
    if not videos:
        raise FileNotFoundError(f"no videos in {VIDEO_DIR}")
    # 1. Track and measure every clip.
    clips, data = {}, []
    for path in videos:
        tracks = track_video(path, cfg.max_seconds, cache_dir)
        clips[path.stem] = listening_stats(tracks, cfg.measure)
        data.append({"file": path.name, "sha256": _sha256(path), "bytes": path.stat().st_size,
                     "seconds_used": clips[path.stem]["seconds"]})  # fmt: skip
    summary = summarise(clips)
    t_measure = time.perf_counter() - t0
    # 2.-3. Probe the renderer and the head motion.
    probe = probe_renderer(tuple(cfg.probe_portraits))
    head = probe_head_motion(
        probe["mean"]["pitch_read_per_deg"], cfg.head_seconds, cfg.head_seeds, cfg.measure
    )
    t_probe = time.perf_counter() - t0 - t_measure
    # 4. Derive the calibration.
    cal, notes = derive(summary, probe, head, cfg)
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cal).items() if k != "source"}
    # 5. Check it on rendered listeners.
    check = check_rendered(cal, cfg) if cfg.check else {"n/a": "skipped (--quick)"}
    seconds = {
        "measure": round(t_measure, 1),
        "probe": round(t_probe, 1),
        "check": round(time.perf_counter() - t0 - t_measure - t_probe, 1),
        "total": round(time.perf_counter() - t0, 1),
    }
    return {
        "format": CALIBRATION_FORMAT,
        "version": CALIBRATION_VERSION,
        "params": params,
        "seed": cfg.seed,
        "data": data,
        "measured": {"summary": summary, "clips": {k: {kk: vv for kk, vv in v.items() if kk != "events"}
                                                   for k, v in clips.items()}},
        "renderer_probe": probe,
        "head_motion_probe": head,
        "derivation": notes,
        "check_rendered": check,
        "config": _config_dict(cfg),
        "seconds": seconds,
    }  # fmt: skip


def _config_dict(cfg: CalibrateConfig) -> dict:
    """The config as JSON, files by name (the paths differ from machine to machine)."""
    d = asdict(cfg)
    d["videos"] = None if cfg.videos is None else [p.name for p in cfg.videos]
    d["probe_portraits"] = [p.name for p in cfg.probe_portraits]
    return d


def _clean(x):
    """JSON-safe and compact: floats rounded, NaN to None."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else round(float(x), 4)
    if isinstance(x, np.integer):
        return int(x)
    return x


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 s of each video, one probe portrait, no check")
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"JSON to write (default: the shipped one; --quick: {QUICK_OUT})",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--videos", type=Path, default=VIDEO_DIR, help="folder of videos")
    args = ap.parse_args(argv)
    if args.out is None:  # a quick check never overwrites the shipped file
        args.out = QUICK_OUT if args.quick else CALIBRATION_PATH
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    torch.set_num_threads(1)  # the machine is shared; CRHMG runs in the probe
    cfg = CalibrateConfig(videos=tuple(sorted(args.videos.glob("*.mp4"))), seed=args.seed)
    if args.quick:
        cfg.max_seconds, cfg.head_seeds, cfg.check = 8.0, 2, False
        cfg.probe_portraits = (DEFAULT_USER_PORTRAIT,)
    doc = calibrate(cfg)
    doc["command"] = (
        "python -m warmchat.train.leed" + (" --quick" if args.quick else "") + f" --seed {args.seed}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(_clean(doc), indent=1) + "\n")
    print(json.dumps({"out": str(args.out), "params": doc["params"], "seconds": doc["seconds"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
