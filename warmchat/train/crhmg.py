"""Train the CRHMG head-motion generator on head tracks from real videos.

``python -m warmchat.train.crhmg [--quick] [--out PATH] [--seed 0]``

1. Extract head tracks with MediaPipe FaceMesh from every video in
   ``shared/data/head-motion/`` (cached under ``runs/crhmg/``): yaw, pitch, roll
   from ``measures.head_pose``; tx, ty, scale from the mesh's centroid and size
   under the renderer's model of a head turning about a pivot half a face width
   behind the face, in pixels of the renderer's 512-px crop. Each clip is read at
   its own frame rate and resampled to 25 fps by interpolation; tracking jitter
   is removed with a 1-frame Gaussian; slow drifts of tx, ty and scale (camera
   pans, leaning, standing up: > 2 s) are removed, since a still portrait
   background cannot follow them; every field is made relative to the clip's
   median.
2. Augment on the fly: mirroring (yaw, roll, tx change sign), time-warping
   (speed 0.8-1.25), random crops into windows, amplitude scaling (0.85-1.15).
   The data has no role or emotion labels, so they are synthetic: a real track
   is a *speaker* with a neutral emotion; *listener* and emotion variants are
   the same track with its motion scaled by ``NoiseHeadMotion``'s per-role ratio
   and per-emotion gain (resting offsets are not learned; the generator adds
   them). The network thus learns the real motion's shape and timing, and a
   hand-set mapping from role and emotion to amplitude.
3. Train the conditional VAE (``warmchat.motion.crhmg``) with a fixed seed.
4. Save state_dict + config + metadata (data, time, measures of generated and
   real motion) to ``assets/models/crhmg.pt``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as TF

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.motion import crhmg as C
from warmchat.motion import crhmg_net as N
from warmchat.motion.tracks import FPS
from warmchat.paths import REPO_DIR, SHARED_VIDEOS

log = logging.getLogger(__name__)

VIDEO_DIR = SHARED_VIDEOS
CACHE_DIR = REPO_DIR / "runs" / "crhmg"
EXTRACT_VERSION = 1  # bump when the extraction changes, to invalidate the cache


# ----------------------------------------------------------------------------- 1. tracks
@dataclass
class ExtractConfig:
    """How head tracks are made from videos."""

    smooth_sigma: float = 1.0  # Gaussian over frames (25 fps) against landmark jitter
    highpass_s: float = 2.0  # tx, ty and scale drifts slower than this (sigma, seconds) are removed
    max_gap: int = 10  # frames without a face bridged by interpolation; longer gaps split the clip


def _native_fps(path: Path) -> float:
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    gen.close()
    return float(meta["fps"])


def pose_from_landmarks(tracks: list[np.ndarray | None]) -> np.ndarray:
    """(T, 6) yaw, pitch, roll, tx, ty, scale per frame (NaN without a face), renderer units.

    Angles from ``measures.head_pose`` (relative to the first face). Under the
    renderer's model x = s R (x0 - pivot) + pivot + t, the mesh centroid gives
    t = c - pivot - s R (c0 - pivot); s is the ratio of the mesh's rotation-free
    RMS size. Pixels are scaled so the face-oval width matches the crop's.
    """
    from warmchat.bench.measures import head_pose
    from warmchat.render.face import face_geometry
    from warmchat.render.warp import rotation_matrix

    ang = head_pose(tracks)
    out = np.full((len(tracks), 6), np.nan)
    good = [t for t in tracks if t is not None]
    if not good:
        return out
    ref = good[0][:468].astype(np.float64)
    g = face_geometry(good[0])
    pivot = g["pivot"]
    c0 = ref.mean(0)
    rms0 = np.sqrt(((ref - c0) ** 2).sum(1).mean())
    px = C.FACE_W / float(np.median([face_geometry(t)["width"] for t in good]))  # video px -> crop px
    for i, t in enumerate(tracks):
        if t is None:
            continue
        x = t[:468].astype(np.float64)
        c = x.mean(0)
        s = np.sqrt(((x - c) ** 2).sum(1).mean()) / rms0
        r = rotation_matrix(*ang[i])
        shift = c - pivot - s * r @ (c0 - pivot)
        out[i] = (*ang[i], shift[0] * px, shift[1] * px, s)
    return out


def clean_track(raw: np.ndarray, fps: float, cfg: ExtractConfig) -> list[np.ndarray]:
    """Resample (T, 6) at ``fps`` to 25 fps, bridge short gaps, smooth, remove drifts, centre.

    Returns the pieces between long gaps (usually one).
    """
    from scipy.ndimage import gaussian_filter1d

    t_src = np.arange(len(raw)) / fps
    ok = ~np.isnan(raw).any(1)
    # Split where the face is lost for longer than max_gap frames; shorter gaps are interpolated.
    pieces, start, i = [], 0, 0
    while i < len(raw):
        if ok[i]:
            i += 1
            continue
        j = i
        while j < len(raw) and not ok[j]:
            j += 1
        if j - i > cfg.max_gap:
            pieces.append((start, i))
            start = j
        i = j
    pieces.append((start, len(raw)))
    out = []
    for a, b in pieces:
        sel = np.arange(a, b)
        sel = sel[ok[sel]]
        if len(sel) < 2:
            continue
        t_new = np.arange(t_src[sel[0]], t_src[sel[-1]] + 1e-9, 1.0 / FPS)
        x = np.stack([np.interp(t_new, t_src[sel], raw[sel, f]) for f in range(6)], 1)
        x = gaussian_filter1d(x, cfg.smooth_sigma, axis=0, mode="nearest")
        hp = cfg.highpass_s * FPS
        x[:, 3:] -= gaussian_filter1d(x[:, 3:], hp, axis=0, mode="nearest")
        x[:, 3:] += np.array([0.0, 0.0, 1.0])  # tx, ty around 0, scale around 1
        x[:, :5] -= np.median(x[:, :5], 0)
        x[:, 5] /= np.median(x[:, 5])
        out.append(x.astype(np.float32))
    return out


def motion_numbers(pose: np.ndarray) -> dict[str, float]:
    """Spread (std) and smoothness (mean |Δ| per frame) of yaw, pitch, roll, tx, ty of a (T, 6) track."""
    out = {}
    for i, name in enumerate(("yaw", "pitch", "roll", "tx", "ty")):
        out[f"{name}_std"] = round(float(np.std(pose[:, i])), 3)
        out[f"{name}_speed"] = round(float(np.mean(np.abs(np.diff(pose[:, i])))), 4)
    return out


def extract_tracks(
    video_dir: Path = VIDEO_DIR, cache_dir: Path = CACHE_DIR, cfg: ExtractConfig | None = None
) -> tuple[dict[str, list[np.ndarray]], dict[str, dict]]:
    """Cleaned head tracks per video (a list of pieces) and measures of each video.

    Landmark extraction is cached per file (name, size, mtime), so only new or
    changed videos are tracked again.
    """
    from warmchat.bench.measures import motion_stats, read_video, track_frames

    cfg = cfg or ExtractConfig()
    videos = sorted(video_dir.glob("*.mp4"))
    if not videos:
        raise FileNotFoundError(f"no videos in {video_dir}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tracks, info = {}, {}
    for path in videos:
        st = path.stat()
        key = cache_dir / f"{path.stem}_v{EXTRACT_VERSION}_{st.st_size}_{int(st.st_mtime)}.npz"
        if key.is_file():
            z = np.load(key, allow_pickle=False)
            raw, fps, stats = z["raw"], float(z["fps"]), json.loads(str(z["stats"]))
        else:
            t0 = time.perf_counter()
            fps = _native_fps(path)
            lm = track_frames(read_video(path, fps=round(fps)))
            raw = pose_from_landmarks(lm)
            # The bench's own measures, on the clip resampled as the bench reads it.
            stats = motion_stats(track_frames(read_video(path))) if round(fps) != FPS else motion_stats(lm)
            stats = {k: round(float(v), 4) for k, v in stats.items()}
            np.savez(key, raw=raw, fps=fps, stats=json.dumps(stats))
            log.info(
                "tracked %s (%d frames at %.0f fps) in %.1f s",
                path.name,
                len(raw),
                fps,
                time.perf_counter() - t0,
            )
        pieces = clean_track(raw, fps, cfg)
        tracks[path.stem] = pieces
        joined = np.concatenate(pieces)
        info[path.stem] = {
            "fps": fps,
            "seconds": round(len(joined) / FPS, 2),
            "detected": round(float(np.mean(~np.isnan(raw).any(1))), 3),
            "bench_motion_stats": stats,  # measures.motion_stats on the raw landmarks
            "track": motion_numbers(joined),  # the cleaned training track
        }
    return tracks, info


# ----------------------------------------------------------------------------- 2. data
@dataclass
class TrainConfig:
    """Training settings; the defaults are the shipped model's."""

    net: N.CRHMGNetConfig = field(default_factory=N.CRHMGNetConfig)
    steps: int = 2500  # optimiser steps (~9 min on one shared core)
    batch: int = 32  # windows per step
    lr: float = 2e-3  # peak learning rate (AdamW), cosine decay to 5 %
    warmup: int = 100  # linear learning-rate warm-up, steps
    weight_decay: float = 1e-4  # AdamW
    beta: float = (
        0.5  # KL weight per pose element: fidelity against samples that look like the data (0.05-2 tried)
    )
    beta_warmup: float = 0.3  # share of the steps over which the KL weight ramps up from 0
    w_vel: float = 10.0  # weight of the velocity error: motion timing matters as much as position
    w_mask: float = 0.1  # weight of the mask decoder's BCE
    mask_frames: int = 2  # frames per window whose masks are decoded in training (memory)
    overlap: int = 16  # longest known-prefix used in training (the generator's overlap)
    p_prefix: float = 0.5  # share of windows that get a longer known prefix (else the first frame only)
    speed: tuple[float, float] = (0.8, 1.25)  # time-warp range (log-uniform)
    amplitude: tuple[float, float] = (0.85, 1.15)  # amplitude-scaling range
    p_listener: float = 0.5  # share of windows labelled listener
    p_neutral: float = 0.3  # share labelled a neutral emotion
    val_fraction: float = 0.2  # the end of each long clip held out for validation
    val_min_frames: int = 400  # only clips at least this long give a validation piece
    seed: int = 0  # everything random in training
    threads: int = 1  # torch threads (the machine is shared)
    log_every: int = 250  # steps between progress lines


def split_tracks(
    tracks: dict[str, list[np.ndarray]], cfg: TrainConfig
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Training and validation pieces: the last ``val_fraction`` of each long clip is held out."""
    train, val = [], []
    for pieces in tracks.values():
        for p in pieces:
            if len(p) >= cfg.val_min_frames and cfg.val_fraction > 0:
                cut = int(len(p) * (1 - cfg.val_fraction))
                train.append(p[:cut])
                val.append(p[cut:])
            else:
                train.append(p)
    n = cfg.net.n_frames
    train = [p for p in train if len(p) > n * cfg.speed[1] + 1]
    val = [p for p in val if len(p) >= n]
    if not train:
        raise ValueError(f"no training piece is longer than {n * cfg.speed[1] + 1:.0f} frames")
    return train, val


def pose_std(pieces: list[np.ndarray]) -> np.ndarray:
    """(6,) per-field std of the motion around the rest pose: the network's units."""
    x = np.concatenate(pieces) - C.REST_POSE
    return np.maximum(np.sqrt((x**2).mean(0)), 1e-3).astype(np.float32)


def random_labels(rng: np.random.Generator, cfg: TrainConfig) -> tuple[int, np.ndarray, np.ndarray]:
    """A synthetic label: role index, emotion input (8,), and the (6,) motion scale it implies."""
    role = "listener" if rng.random() < cfg.p_listener else "speaker"
    if rng.random() < cfg.p_neutral:
        dist = np.eye(len(EMOTIONS))[0]
    elif rng.random() < 0.7:
        dist = np.eye(len(EMOTIONS))[rng.integers(len(EMOTIONS))]
    else:
        dist = rng.dirichlet(np.full(len(EMOTIONS), 0.5))
    emo = EmotionState(dist, float(rng.random()))
    gain, _ = C.emotion_gain_offset(emo)
    return C.HEAD_ROLES.index(role), emo.weighted().astype(np.float32), C.role_ratio(role) * gain


def sample_batch(
    pieces: list[np.ndarray],
    std: np.ndarray,
    rng: np.random.Generator,
    cfg: TrainConfig,
    augment: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of windows: normalised poses (B, N, 6), roles (B,), emotion inputs (B, 8), label scales (B, 6).

    The label scale is how much the synthetic role/emotion label scaled the real
    motion; the posterior sees the motion without it (see ``losses``).
    """
    n, b = cfg.net.n_frames, cfg.batch
    lengths = np.array([len(p) for p in pieces], float)
    x = np.zeros((b, n, 6), np.float32)
    roles = np.zeros(b, np.int64)
    emos = np.zeros((b, len(EMOTIONS)), np.float32)
    scales = np.ones((b, 6), np.float32)
    for i in range(b):
        p = pieces[rng.choice(len(pieces), p=lengths / lengths.sum())]
        speed = math.exp(rng.uniform(*np.log(cfg.speed))) if augment else 1.0
        span = (n - 1) * speed
        t = rng.uniform(0, len(p) - 1 - span) + np.arange(n) * speed  # time-warp + random crop
        w = np.stack([np.interp(t, np.arange(len(p)), p[:, f]) for f in range(6)], 1) - C.REST_POSE
        if augment:
            if rng.random() < 0.5:  # mirror: the face turns and tilts the other way
                w[:, [0, 2, 3]] *= -1
            w *= rng.uniform(*cfg.amplitude)
            roles[i], emos[i], scales[i] = random_labels(rng, cfg)
            w *= scales[i]
        else:
            emos[i, 0] = 0.5  # a neutral speaker at the default intensity
        x[i] = w / std
    return torch.from_numpy(x), torch.from_numpy(roles), torch.from_numpy(emos), torch.from_numpy(scales)


# ----------------------------------------------------------------------------- 3. training
def losses(
    net: N.CRHMGNet, x: torch.Tensor, roles: torch.Tensor, emos: torch.Tensor, scales: torch.Tensor,
    std: torch.Tensor, cfg: TrainConfig, gen: torch.Generator,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """Reconstruction, velocity, mask and KL terms for a batch of normalised windows (B, N, 6).

    The posterior reads the window *before* the label's scaling (x / scales) and
    not the labels: its noise can then only say which real motion this is, never
    how much the role or emotion scales it, so the decoder must learn that from
    the conditions, and noise drawn from N(0, I) suits every role and emotion.
    """
    b, n, _ = x.shape
    # 1. Known leading poses: the first frame, or a longer prefix (what the next window gets).
    long = torch.rand(b, generator=gen) < cfg.p_prefix
    n_known = torch.where(
        long, torch.randint(1, cfg.overlap + 1, (b,), generator=gen), torch.ones(b, dtype=torch.long)
    )
    flag = (torch.arange(n)[None] < n_known[:, None]).float()  # (B, N)
    real = x * std + torch.from_numpy(C.REST_POSE)  # (B, N, 6) renderer units
    mask0 = N.pose_masks(real[:, 0], net.cfg.mask_size)  # (B, 2, M, M)
    # 2. Posterior noise (reparameterised), decode.
    cond = net.condition(roles, emos)
    mu, logvar = net.posterior(x / scales[:, None, :])
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen)
    h = net.decode(mask0, x, flag, cond, z)  # (B, N, D)
    pose = net.pose_head(h)
    # 3. Masks of a few frames per window.
    idx = torch.randint(0, n, (b, cfg.mask_frames), generator=gen)
    hs = torch.gather(h, 1, idx[..., None].expand(-1, -1, h.shape[-1]))
    target = N.pose_masks(torch.gather(real, 1, idx[..., None].expand(-1, -1, 6)), net.cfg.mask_size)
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(-1).sum(-1).mean()  # per window, nats
    return {
        "pose": TF.mse_loss(pose, x),
        "vel": TF.mse_loss(pose[:, 1:] - pose[:, :-1], x[:, 1:] - x[:, :-1]),
        "mask": TF.binary_cross_entropy_with_logits(net.masks(hs), target),
        "kl": kl,
        "kl_per_elem": kl / (n * 6),
    }


def train(
    pieces: list[np.ndarray], cfg: TrainConfig, val: list[np.ndarray] | None = None
) -> tuple[N.CRHMGNet, np.ndarray, list[dict]]:
    """Train a network on (T, 6) pieces in renderer units; returns it, its pose_std and the loss history."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    std_np = pose_std(pieces)
    std = torch.from_numpy(std_np)
    net = N.CRHMGNet(cfg.net)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def lr_at(step: int) -> float:
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        q = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * q))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    history: list[dict] = []
    run: dict[str, float] = {}
    t0 = time.perf_counter()
    for step in range(cfg.steps):
        net.train()
        x, roles, emos, scales = sample_batch(pieces, std_np, rng, cfg)
        parts = losses(net, x, roles, emos, scales, std, cfg, gen)
        beta = cfg.beta * min(1.0, step / max(1, cfg.beta_warmup * cfg.steps))
        loss = (
            parts["pose"]
            + cfg.w_vel * parts["vel"]
            + cfg.w_mask * parts["mask"]
            + beta * parts["kl_per_elem"]
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        for k, v in parts.items():
            run[k] = run.get(k, 0.0) + v.item()
        run["loss"] = run.get("loss", 0.0) + loss.item()
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            k = cfg.log_every if (step + 1) % cfg.log_every == 0 else (step + 1) % cfg.log_every
            rec = {"step": step + 1, "seconds": round(time.perf_counter() - t0, 1)}
            rec.update({name: round(v / k, 5) for name, v in run.items()})
            if val:
                rec.update({f"val_{name}": v for name, v in evaluate(net, val, std_np, cfg).items()})
            history.append(rec)
            log.info("%s", rec)
            run = {}
    net.eval()
    return net, std_np, history


def evaluate(
    net: N.CRHMGNet, pieces: list[np.ndarray], std: np.ndarray, cfg: TrainConfig
) -> dict[str, float]:
    """Mean losses on fixed validation windows (neutral speaker, no augmentation)."""
    n = cfg.net.n_frames
    wins = [p[a : a + n] - C.REST_POSE for p in pieces for a in range(0, len(p) - n + 1, n // 2)]
    x = torch.from_numpy(np.stack(wins) / std).float()
    roles = torch.zeros(len(x), dtype=torch.long)
    emos = torch.zeros(len(x), len(EMOTIONS))
    emos[:, 0] = 0.5
    net.eval()
    with torch.no_grad():
        ones = torch.ones(len(x), 6)
        parts = losses(
            net, x, roles, emos, ones, torch.from_numpy(std), cfg, torch.Generator().manual_seed(0)
        )
    return {k: round(float(v), 5) for k, v in parts.items() if k != "kl_per_elem"}


# ----------------------------------------------------------------------------- 4. measures
def window_spread(pieces: list[np.ndarray], n: int) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Mean per-field std (6,) over all n-frame windows (stride n/4) of real tracks, and each window's numbers."""
    wins = [p[a : a + n] for p in pieces for a in range(0, max(1, len(p) - n + 1), max(1, n // 4))]
    return np.mean([w.std(0) for w in wins], 0), [motion_numbers(w) for w in wins]


def calibrate(
    model: N.LoadedModel, pieces: list[np.ndarray], seconds: float = 10.0, seeds: int = 24
) -> np.ndarray:
    """(6,) variance calibration: real spread / spread of prior samples, per field, in [1, 2.5].

    A VAE decoder fed noise from the prior gives the *average* of the motions
    that noise could stand for, so its samples come out calmer than the data
    (about 65 % of the real spread here). One gain per field, measured on
    neutral speaker tracks against 10 s windows of the real tracks, restores
    the average spread; the timing (speed / spread) is the network's own.
    """
    n = int(seconds * FPS)
    real, _ = window_spread(pieces, n)
    model.gain = np.ones(6, np.float32)
    gen = C.CRHMGHeadMotion(model=model)
    emo = EmotionState.of("neutral", 0.5)
    spread = np.mean(
        [gen.sample("speaker", emo, n, np.random.default_rng(s)).std(0) for s in range(seeds)], 0
    )
    return np.clip(real / np.maximum(spread, 1e-6), 1.0, 2.5).astype(np.float32)


def generated_numbers(model: N.LoadedModel, seconds: float = 10.0, seeds: int = 16) -> dict:
    """Motion numbers of generated tracks (neutral emotion) per role (mean, min, max over seeds), and speed."""
    gen = C.CRHMGHeadMotion(model=model)
    T = int(seconds * FPS)
    out: dict = {}
    emo = EmotionState.of("neutral", 0.5)
    for role in C.HEAD_ROLES:
        per = [
            motion_numbers(gen.generate(role, emo, T, np.random.default_rng(s)).as_array())
            for s in range(seeds)
        ]
        for stat, fn in (("mean", np.mean), ("min", np.min), ("max", np.max)):
            out[f"{role}_{stat}"] = {k: round(float(fn([p[k] for p in per])), 4) for k in per[0]}
    t0 = time.perf_counter()
    for s in range(10):
        gen.generate("speaker", emo, 250, np.random.default_rng(s))
    out["ms_per_10s_track"] = round((time.perf_counter() - t0) / 10 * 1000, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short run (~1 min) to check that it works")
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="checkpoint to write (default: the shipped one; --quick: runs/crhmg/quick.pt)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--videos", type=Path, default=VIDEO_DIR, help="folder of training videos")
    ap.add_argument("--steps", type=int, default=None, help="override the number of steps")
    args = ap.parse_args(argv)
    if args.out is None:  # a quick check must never overwrite the shipped weights
        args.out = REPO_DIR / "runs" / "crhmg" / "quick.pt" if args.quick else C.WEIGHTS_PATH
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t0 = time.perf_counter()
    cfg = TrainConfig(seed=args.seed)
    if args.quick:
        cfg.steps, cfg.warmup, cfg.log_every = 250, 30, 125
    if args.steps:
        cfg.steps = args.steps
    torch.set_num_threads(cfg.threads)
    # 1. Tracks.
    tracks, info = extract_tracks(args.videos)
    t_extract = time.perf_counter() - t0
    train_pieces, val_pieces = split_tracks(tracks, cfg)
    log.info(
        "%d training pieces (%d frames), %d validation pieces (%d frames); extraction %.1f s",
        len(train_pieces), sum(map(len, train_pieces)), len(val_pieces), sum(map(len, val_pieces)), t_extract,
    )  # fmt: skip
    # 2.-3. Train.
    net, std, history = train(train_pieces, cfg, val_pieces)
    t_train = time.perf_counter() - t0 - t_extract
    # 4. Calibrate, measure, save.
    all_pieces = [p for pieces in tracks.values() for p in pieces]
    model = N.LoadedModel(net, std, np.ones(6, np.float32), {})
    model.gain = calibrate(model, all_pieces)
    real_spread, real_windows = window_spread(all_pieces, 10 * FPS)
    n_params = sum(p.numel() for p in net.parameters())
    posterior = sum(p.numel() for m in (net.post_in, net.post_down, net.post_out) for p in m.parameters())
    model.meta = {
        "command": "python -m warmchat.train.crhmg"
        + (" --quick" if args.quick else "")
        + f" --seed {args.seed}",
        "train_config": json.loads(json.dumps(asdict(cfg))),
        "extract_config": asdict(ExtractConfig()),
        "videos": info,
        "train_frames": int(sum(map(len, train_pieces))),
        "val_frames": int(sum(map(len, val_pieces))),
        "pose_std": [round(float(s), 5) for s in std],
        "gain": [round(float(g), 4) for g in model.gain],
        "real_10s_windows_mean": {
            k: round(float(np.mean([w[k] for w in real_windows])), 4) for k in real_windows[0]
        },
        "real_10s_window_spread": [round(float(s), 4) for s in real_spread],
        "params": int(n_params),
        "params_inference": int(n_params - posterior),
        "extract_seconds": round(t_extract, 1),
        "train_seconds": round(t_train, 1),
        "torch_threads": cfg.threads,
        "history": history,
    }
    model.meta["generated"] = generated_numbers(model)
    model.meta["total_seconds"] = round(time.perf_counter() - t0, 1)
    N.save_model(args.out, model)
    keys = ("params", "params_inference", "gain", "extract_seconds", "train_seconds", "total_seconds")
    summary = {"bytes": args.out.stat().st_size, **{k: model.meta[k] for k in keys}}
    print(
        json.dumps(
            {"out": str(args.out), **summary, "last": history[-1], **model.meta["generated"]}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
