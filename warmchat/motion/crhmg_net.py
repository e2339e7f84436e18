"""CRHMG's network and its checkpoints: everything of the head-motion generator that needs torch.

Kept apart from ``warmchat.motion.crhmg`` so that importing the pipeline (and starting the app)
does not import torch (about 1.1 s on 2 cores): the generator loads this module with its
weights, in the app's warm-up, after the page is served.
"""

from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as TF
from torch import nn

from warmchat.emotion import EMOTIONS
from warmchat.motion.crhmg import CROP_PX, FACE_CENTER, FACE_W, HEAD_ROLES, PIVOT_DIST, WEIGHTS_PATH


# ----------------------------------------------------------------------------- masks
def pose_masks(poses: torch.Tensor, size: int = 32) -> torch.Tensor:
    """(..., 6) poses in renderer units -> (..., 2, size, size) soft head and face masks in [0, 1].

    See the module docstring for the drawing; works on any batch shape, so the
    trainer draws targets for whole batches and the generator one first frame.
    """
    p = poses.float()
    yaw, pitch, roll = (torch.deg2rad(p[..., i]) for i in range(3))
    tx, ty, sc = p[..., 3], p[..., 4], p[..., 5]
    cell = CROP_PX / size
    coords = (torch.arange(size, dtype=torch.float32, device=p.device) + 0.5) * cell
    gy, gx = torch.meshgrid(coords, coords, indexing="ij")  # (size, size) pixel centres

    def ellipse(cx: torch.Tensor, cy: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # Un-rotate the grid into the ellipse's frame (positive roll = clockwise with y down).
        c, s = torch.cos(roll)[..., None, None], torch.sin(roll)[..., None, None]
        dx, dy = gx - cx[..., None, None], gy - cy[..., None, None]
        u, v = c * dx + s * dy, -s * dx + c * dy
        a_, b_ = a[..., None, None], b[..., None, None]
        r = torch.sqrt((u / a_) ** 2 + (v / b_) ** 2 + 1e-9)
        dist = (r - 1.0) * torch.minimum(a_, b_)  # ~ signed distance to the edge, pixels
        return torch.sigmoid(-dist / (0.5 * cell))

    hx, hy = FACE_CENTER[0] + tx, FACE_CENTER[1] + ty
    head = ellipse(hx, hy, 0.62 * FACE_W * sc, 0.78 * FACE_W * sc)
    # The face's offset inside the head, turned by roll like everything else.
    ox, oy = PIVOT_DIST * sc * torch.sin(yaw), PIVOT_DIST * sc * torch.sin(pitch)
    fx = hx + torch.cos(roll) * ox - torch.sin(roll) * oy
    fy = hy + torch.sin(roll) * ox + torch.cos(roll) * oy
    face = ellipse(fx, fy, 0.5 * FACE_W * sc * torch.cos(yaw), 0.65 * FACE_W * sc * torch.cos(pitch))
    return torch.stack([head, face], dim=-3)


# ----------------------------------------------------------------------------- network
@dataclass
class CRHMGNetConfig:
    """Architecture of the network; saved with the weights."""

    n_frames: int = 80  # frames per window (3.2 s at 25 fps); the positional encoding's length
    d_model: int = 64  # width of the Transformer
    n_layers: int = 6  # Transformer encoder layers (the paper's 6)
    n_heads: int = 4  # attention heads
    d_ff: int = 128  # feed-forward width
    dropout: float = 0.0  # in the Transformer, training only (0: augmentation and the KL term regularise enough, and dropout is a quarter of a CPU step)
    noise_dim: int = 8  # size of one noise vector
    latent_stride: int = 8  # frames per noise vector: the noise plans motion at ~3 Hz, not per frame
    mask_size: int = 32  # side of the head-mask raster
    n_emotions: int = len(EMOTIONS)  # emotion input: distribution x intensity


class CRHMGNet(nn.Module):
    """First-frame mask + known leading poses + role/emotion + noise -> per-frame pose and mask."""

    def __init__(self, cfg: CRHMGNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        # 1. Mask encoder: conv 32 -> 64 -> 128, ReLU, global average pooling, linear.
        self.mask_encoder = nn.Sequential(
            nn.Conv2d(2, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, d),
        )  # fmt: skip
        # 2. Conditions and noise, each projected to the model width and added per frame.
        self.role_emb = nn.Embedding(len(HEAD_ROLES), d)
        self.emotion_proj = nn.Linear(cfg.n_emotions, d)
        self.known_proj = nn.Linear(7, d)  # known pose (6, normalised, 0 where unknown) + known flag
        self.noise_proj = nn.Linear(cfg.noise_dim, d)
        self.pos = nn.Parameter(0.02 * torch.randn(1, cfg.n_frames, d))  # learned positional encoding
        # 3. The Transformer over the window.
        layer = nn.TransformerEncoderLayer(
            d, cfg.n_heads, cfg.d_ff, cfg.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        # 4. Decoders: the pose the renderer applies, and the mask (4 -> 8 -> 16 -> 32).
        self.pose_head = nn.Linear(d, 6)
        m0 = cfg.mask_size // 8
        self.mask_head = nn.Sequential(
            nn.Linear(d, 64 * m0 * m0), nn.ReLU(), nn.Unflatten(-1, (64, m0, m0)),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(16, 2, 4, stride=2, padding=1),
        )  # fmt: skip
        # 5. Posterior q(noise | real window), training only; it sees no labels (see the training script).
        self.post_in = nn.Conv1d(6, d, 5, padding=2)
        self.post_down = nn.Conv1d(d, d, cfg.latent_stride, stride=cfg.latent_stride)
        self.post_out = nn.Conv1d(d, 2 * cfg.noise_dim, 1)

    def condition(self, role: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        """(B,) role index, (B, 8) emotion -> (B, D)."""
        return self.role_emb(role) + self.emotion_proj(emotion)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N, 6) normalised real poses (before role/emotion scaling) -> mean, log-variance (B, L, noise_dim)."""
        h = TF.gelu(self.post_in(x.transpose(1, 2)))  # (B, D, N)
        h = TF.gelu(self.post_down(h))  # (B, D, L)
        mu, logvar = self.post_out(h).transpose(1, 2).chunk(2, dim=-1)
        return mu, logvar.clamp(-8.0, 4.0)

    def decode(
        self,
        mask0: torch.Tensor,
        known: torch.Tensor,
        known_flag: torch.Tensor,
        cond: torch.Tensor,
        noise: torch.Tensor,
    ) -> torch.Tensor:
        """Hidden states (B, N, D) from mask0 (B, 2, M, M), known (B, N, 6), flag (B, N), cond (B, D), noise (B, L, nz)."""
        n = known.shape[1]
        latent = self.mask_encoder(mask0)  # (B, D)
        per_frame = TF.interpolate(noise.transpose(1, 2), size=n, mode="linear", align_corners=False)
        h = (
            latent[:, None, :]  # the first frame's latent, repeated N times
            + self.noise_proj(per_frame.transpose(1, 2))  # + scaled Gaussian noise (B, N, D)
            + cond[:, None, :]
            + self.known_proj(torch.cat([known * known_flag[..., None], known_flag[..., None]], -1))
            + self.pos[:, :n]
        )
        return self.norm(self.transformer(h))

    def masks(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., D) hidden states -> (..., 2, M, M) mask logits."""
        lead = hidden.shape[:-1]
        out = self.mask_head(hidden.reshape(-1, hidden.shape[-1]))
        return out.reshape(*lead, *out.shape[1:])


# ----------------------------------------------------------------------------- loading
@dataclass
class LoadedModel:
    """The network in eval mode with what is needed to use it."""

    net: CRHMGNet
    pose_std: np.ndarray  # (6,) the network's units: normalised pose = (pose - rest) / pose_std
    gain: np.ndarray  # (6,) variance calibration of prior samples (see the training script); 1 = none
    meta: dict  # training metadata (data, time, measures)


def load_model(path: Path | str = WEIGHTS_PATH) -> LoadedModel:
    """The network from a checkpoint (read now: keep it, as ``CRHMGHeadMotion`` does).

    Raises ``RuntimeError`` with the reason when the file is missing or unusable.
    """
    try:
        return _load(Path(path).resolve())
    except (OSError, EOFError, pickle.UnpicklingError, RuntimeError, KeyError, TypeError, ValueError) as err:
        # A missing, truncated, foreign or mismatched file.
        raise RuntimeError(f"{type(err).__name__}: {err}") from err


def _load(path: Path) -> LoadedModel:
    if not path.is_file():
        raise FileNotFoundError(f"no CRHMG weights at {path} (train them: python -m warmchat.train.crhmg)")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    known = {f.name for f in fields(CRHMGNetConfig)}
    cfg = CRHMGNetConfig(**{k: v for k, v in ckpt["config"].items() if k in known})
    net = CRHMGNet(cfg)
    net.load_state_dict(ckpt["state_dict"])
    net.eval()
    gain = np.asarray(ckpt.get("gain", np.ones(6)), np.float32)
    return LoadedModel(net, np.asarray(ckpt["pose_std"], np.float32), gain, dict(ckpt.get("meta", {})))


def save_model(path: Path, model: LoadedModel) -> None:
    """Write a checkpoint that ``load_model`` reads with ``weights_only=True``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.net.state_dict().items()}
    torch.save(
        {
            "state_dict": state,
            "config": asdict(model.net.cfg),
            "pose_std": [float(x) for x in model.pose_std],
            "gain": [float(x) for x in model.gain],
            "meta": model.meta,
        },
        path,
    )
