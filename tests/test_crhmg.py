"""CRHMG head motion: training, the shipped weights, long tracks, statistics, joins, fallback."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest
import torch

from warmchat.emotion import EmotionState
from warmchat.motion.crhmg import WEIGHTS_PATH, CRHMGConfig, CRHMGHeadMotion
from warmchat.motion.crhmg_net import CRHMGNetConfig, pose_masks
from warmchat.motion.tracks import HeadTrack
from warmchat.train.crhmg import TrainConfig, motion_numbers, train

NEUTRAL = EmotionState.of("neutral", 0.5)

# Per-clip range over the 8 real videos of shared/data/head-motion/ (the cleaned
# training tracks: MediaPipe pose, 25 fps, 1-frame Gaussian against landmark
# jitter), from assets/models/crhmg.md: (lowest clip, highest clip).
REAL_RANGE = {
    "yaw_std": (0.39, 8.82),
    "pitch_std": (0.69, 4.42),
    "roll_std": (0.19, 3.28),
    "yaw_speed": (0.058, 1.01),
    "pitch_speed": (0.083, 1.67),
    "roll_speed": (0.035, 0.67),
}


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def gen() -> CRHMGHeadMotion:
    g = CRHMGHeadMotion()
    assert WEIGHTS_PATH.is_file() and g.fallback is None, "the shipped weights must load"
    return g


# ----------------------------------------------------------------------------- (a) training
def test_a_few_training_steps_lower_the_loss():
    # Tiny smooth tracks (sways and nods) and a tiny network: the real training loop.
    r = rng(0)
    t = np.arange(300)[:, None]
    pieces = []
    for _ in range(3):
        freq, phase, amp = r.uniform(0.02, 0.06, 5), r.uniform(0, 6.3, 5), r.uniform(1, 4, 5)
        motion = amp * np.sin(2 * np.pi * freq * t + phase)
        pieces.append(np.c_[motion, 1 + 0.01 * np.sin(0.03 * t)].astype(np.float32))
    net_cfg = CRHMGNetConfig(n_frames=32, d_model=32, n_layers=2, n_heads=2, d_ff=64, latent_stride=8)
    cfg = TrainConfig(net=net_cfg, steps=60, batch=8, warmup=5, log_every=10, overlap=8, lr=3e-3)
    torch.set_num_threads(1)
    _, std, history = train(pieces, cfg)
    assert std.shape == (6,)
    first, last = history[0], history[-1]
    assert last["pose"] < 0.5 * first["pose"], history
    assert last["mask"] < first["mask"], history


# ----------------------------------------------------------------------------- (b) seeds
def test_same_seed_same_track_other_seed_other_motion(gen):
    a = gen.generate("speaker", NEUTRAL, 250, rng(7)).as_array()
    b = gen.generate("speaker", NEUTRAL, 250, rng(7)).as_array()
    c = gen.generate("speaker", NEUTRAL, 250, rng(8)).as_array()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a[:, :3] - c[:, :3]).mean() > 0.5  # degrees: visibly different motion


# ----------------------------------------------------------------------------- (c) long tracks
def test_a_minute_of_motion_has_no_seams(gen):
    cfg = gen.cfg
    step = cfg.window - cfg.overlap
    starts = np.arange(step, 1500 - cfg.overlap, step)  # where each later window begins
    handover = np.concatenate([np.arange(a + cfg.context, a + cfg.overlap) for a in starts])  # cross-fades
    joins = np.r_[starts + cfg.context, starts + cfg.overlap]  # where the cross-fades start and end
    for seed in (0, 1):
        pose = gen.generate("speaker", NEUTRAL, 1500, rng(seed)).as_array()
        d = np.abs(np.diff(pose, axis=0))  # (1499, 6) frame-to-frame change; d[i] leads into frame i + 1
        a = np.abs(np.diff(pose, 2, axis=0))  # (1498, 6) acceleration
        # The largest change anywhere is not larger than the track's normal changes.
        assert (d[:, :3].max(0) <= 1.5 * np.percentile(d[:, :3], 99.9, axis=0)).all(), (seed, d.max(0))
        # Where windows hand over, the head moves and accelerates as anywhere else.
        other = np.setdiff1d(np.arange(len(d)), handover - 1)
        assert (d[handover - 1, :3].mean(0) < 1.3 * d[other, :3].mean(0)).all(), seed
        assert (d[joins - 1, :3].mean(0) < 1.6 * d[:, :3].mean(0)).all(), seed
        assert (a[joins - 2, :3].mean(0) < 1.6 * a[:, :3].mean(0)).all(), seed
        # No drift: a minute spreads like the real clips do.
        n = motion_numbers(pose)
        for f in ("yaw", "pitch", "roll"):
            lo, hi = REAL_RANGE[f"{f}_std"]
            assert lo <= n[f"{f}_std"] <= hi, (f, n)


# ----------------------------------------------------------------------------- (d) statistics
def test_speaker_motion_is_within_the_real_videos_range(gen):
    for seed in range(6):
        n = motion_numbers(gen.generate("speaker", NEUTRAL, 250, rng(seed)).as_array())
        for key, (lo, hi) in REAL_RANGE.items():
            assert lo <= n[key] <= hi, (seed, key, n[key])


def test_listener_moves_less_and_epsilon_sets_diversity(gen):
    def spread(g: CRHMGHeadMotion, role: str) -> float:
        return float(
            np.mean([g.generate(role, NEUTRAL, 250, rng(s)).as_array()[:, :3].std(0).sum() for s in range(6)])
        )

    assert spread(gen, "listener") < 0.7 * spread(gen, "speaker")  # ~0.55, as in NoiseHeadMotion's table

    def diversity(g: CRHMGHeadMotion) -> float:  # how far tracks of different seeds are apart
        tracks = np.stack([g.generate("speaker", NEUTRAL, 250, rng(s)).as_array()[:, :3] for s in range(6)])
        return float(tracks.std(0).mean())

    calm = CRHMGHeadMotion(CRHMGConfig(epsilon=0.0))
    half = CRHMGHeadMotion(CRHMGConfig(epsilon=0.5))
    assert diversity(calm) < 0.1 * diversity(gen)
    assert diversity(calm) < diversity(half) < diversity(gen)


def test_emotion_changes_the_motion(gen):
    # Sad heads hang lower (the resting offset, added on top) and move less (learned from the labels).
    sad = [gen.generate("speaker", EmotionState.of("sad", 1.0), 250, rng(s)).as_array() for s in range(4)]
    happy = [gen.generate("speaker", EmotionState.of("happy", 1.0), 250, rng(s)).as_array() for s in range(4)]
    assert np.mean([p[:, 1].mean() for p in sad]) > np.mean([p[:, 1].mean() for p in happy]) + 3
    # The table's gains at full intensity are 0.6 and 1.3: sad moves about half as much as happy.
    assert np.mean([p[:, :3].std(0).sum() for p in sad]) < 0.6 * np.mean(
        [p[:, :3].std(0).sum() for p in happy]
    )


# ----------------------------------------------------------------------------- (e) joins
def test_the_first_frame_continues_the_previous_pose(gen):
    start = np.array([6.0, -4.0, 3.0, 8.0, -5.0, 1.03], np.float32)
    for role, emo in (("speaker", NEUTRAL), ("listener", EmotionState.of("sad", 0.8))):
        track = gen.generate(role, emo, 100, rng(3), start_pose=start)
        np.testing.assert_allclose(track.frame(0), start, atol=1e-5)
        assert np.abs(track.frame(1)[:3] - start[:3]).max() < 1.0  # eases out, no jump
    assert len(gen.generate("speaker", NEUTRAL, 1, rng(0), start_pose=start)) == 1


# ----------------------------------------------------------------------------- (f) fallback
def test_missing_or_broken_weights_fall_back_with_one_warning(tmp_path, caplog):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    for path, reason in ((tmp_path / "missing.pt", "no CRHMG weights"), (broken, "Error")):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="warmchat.motion.crhmg"):
            g = CRHMGHeadMotion(CRHMGConfig(weights=path))  # loads (and warns) once, here
            g.generate("listener", NEUTRAL, 25, rng(1))
        warnings = [r.getMessage() for r in caplog.records if "CRHMG" in r.getMessage()]
        assert len(warnings) == 1 and reason in warnings[0] and "noise" in warnings[0], warnings
        assert g.fallback is not None and reason in g.fallback_reason
        assert isinstance(g.generate("speaker", NEUTRAL, 50, rng(0)), HeadTrack)


# ----------------------------------------------------------------------------- masks, speed
def test_masks_show_the_pose(gen):
    def centroid(m: np.ndarray) -> np.ndarray:
        ys, xs = np.mgrid[: m.shape[0], : m.shape[1]]
        return np.array([(xs * m).sum(), (ys * m).sum()]) / m.sum()

    poses = torch.tensor(
        [
            [0, 0, 0, 0, 0, 1],
            [15, 0, 0, 0, 0, 1],
            [0, 15, 0, 0, 0, 1],
            [0, 0, 0, 32, 0, 1],
            [0, 0, 0, 0, 0, 1.2],
        ],
        dtype=torch.float32,
    )
    m = pose_masks(poses, 32).numpy()  # (5, 2, 32, 32): head, face
    rest_face, rest_head = centroid(m[0, 1]), centroid(m[0, 0])
    assert centroid(m[1, 1])[0] > rest_face[0] + 0.5  # yaw right: the face moves right inside the head
    assert centroid(m[2, 1])[1] > rest_face[1] + 0.5  # chin down: the face moves down
    assert abs(centroid(m[3, 0])[0] - rest_head[0] - 2.0) < 0.2  # 32 px = 2 cells
    assert m[4, 0].sum() > 1.3 * m[0, 0].sum()  # bigger head
    # The network's own decoded masks agree with the masks its poses imply.
    poses_gen, decoded = gen.sample("speaker", NEUTRAL, 120, rng(0), return_masks=True)
    raster = pose_masks(torch.from_numpy(poses_gen), decoded.shape[-1]).numpy()
    inter, union = np.minimum(decoded, raster).sum(), np.maximum(decoded, raster).sum()
    assert inter / union > 0.8


def test_ten_seconds_of_motion_are_fast(gen):
    gen.generate("speaker", NEUTRAL, 250, rng(0))  # warm up
    times = []
    for s in range(5):
        t0 = time.perf_counter()
        gen.generate("speaker", NEUTRAL, 250, rng(s))
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.15  # ~20 ms on one core; generous for a loaded machine
