"""CRHMG: the Consistent Random Head Mask Generator (SPEC §1), a Transformer for head motion.

What it does: given a role (speaker or listener), an emotion, a length and a
seed, it draws head motion of any length that is smooth and consistent in time,
as a ``HeadTrack`` (yaw, pitch, roll, tx, ty, scale per frame) plus the head
masks it implies.

**Head masks.** A mask is a ``mask_size`` x ``mask_size`` raster (32 x 32 by
default) of the whole 512-px crop with two soft channels:

- channel 0, the head: an ellipse around the face centre (0.62 x 0.78 face
  widths half-axes, hair included), moved by (tx, ty), sized by ``scale`` and
  turned by ``roll``;
- channel 1, the face: a smaller ellipse inside it, foreshortened by
  cos(yaw) / cos(pitch) and shifted from the head centre by ``d sin(yaw)``
  sideways and ``d sin(pitch)`` down, where ``d`` is the renderer's pivot
  distance (half a face width): where the face sits inside the head
  silhouette is what makes yaw and pitch visible in a 2-D mask.

Edges are soft (a sigmoid of the distance to the ellipse, half a cell wide), so
sub-cell motion still changes the raster. ``pose_masks`` draws them.

**The network** (``CRHMGNet``), as in the paper: a mask encoder (conv 32 -> 64
-> 128, ReLU, global average pooling, linear) turns the *first* frame's mask
into a latent; the latent is repeated N times and Gaussian noise scaled by ε is
added (through a linear projection); role, emotion and the known leading poses
are added as embeddings, plus a learned positional encoding; 6 Transformer
encoder layers; then two decoders per frame: one to the mask (transposed
convs) and one to the 6-D pose, which is what the renderer applies.

**Why it is generative** (and not a regression that would collapse to the
mean): it is trained as a conditional VAE. A posterior network (training only)
reads the true window and proposes the noise that explains it; a KL term keeps
that noise close to N(0, I). The posterior sees the real motion before the
role/emotion scaling and no labels, so the noise says *which* motion and the
conditions say *how much*: N(0, I) then suits every role and emotion.
Prior samples of a VAE decoder are calmer than the data (the decoder averages
what the noise could stand for); one gain per pose field, measured after
training against 10 s windows of the real tracks, restores the real average
spread (``LoadedModel.gain``). At generation the noise is drawn from N(0, I) and
scaled by ε: ε = 1 samples the learned distribution of motions, ε = 0 gives the
single most likely (nearly still) motion, values between trade diversity for
calm. The noise lives at a coarse rate (one vector every ``latent_stride``
frames, linearly interpolated), so it carries the motion's plan, not per-frame
jitter. The same ``rng`` state gives the same noise, hence the same track.

**Long tracks** are generated in overlapping windows (``window`` frames, the
trained length): every window after the first shares ``overlap`` frames with
the previous one; it is given the first ``context`` of them as known leading
poses (and the first as its mask), and over the rest the two windows cross-fade
(cosine). The hand-over thus happens where the new window already moves on its
own, not at the edge of what it was told, so a 60 s track has no seams. The first window starts from
``start_pose``, and ``blend_in`` makes the first frame equal it exactly.

**Emotion.** The network is conditioned on the emotion (distribution x
intensity) and the role, and learned how much they scale the motion; each
emotion's resting offset (sad heads hang low, surprised ones lift) is added on
top from ``NoiseHeadMotion``'s table, like the speaker's beat nods on loud
syllables. The training labels are synthetic: see ``warmchat/train/crhmg.py``
and ``assets/models/crhmg.md``.

Weights: ``assets/models/crhmg.pt`` (``python -m warmchat.train.crhmg``),
loaded once per generator (one per pipeline). Without them ``CRHMGHeadMotion`` falls back to
``NoiseHeadMotion`` and logs one warning that says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.motion.common import blend_in
from warmchat.motion.head import _EMOTION_HEAD, _ROLE_STD, HeadConfig, NoiseHeadMotion
from warmchat.motion.tracks import FPS, HeadTrack
from warmchat.paths import ASSETS_DIR
from warmchat.speech import Speech, loudness_envelope

if TYPE_CHECKING:
    from warmchat.motion.crhmg_net import LoadedModel

log = logging.getLogger(__name__)

WEIGHTS_PATH = ASSETS_DIR / "models" / "crhmg.pt"
HEAD_ROLES: tuple[str, ...] = ("speaker", "listener")  # role index = position here

# Geometry of the renderer's crop (warmchat.render.face.PortraitConfig defaults).
CROP_PX = 512.0  # side of the crop
FACE_W = 0.42 * CROP_PX  # face-oval width in the crop, pixels
FACE_CENTER = (0.5 * CROP_PX, 0.48 * CROP_PX)  # face centre in the crop (x, y), pixels
PIVOT_DIST = 0.5 * FACE_W  # the renderer turns the head about a point half a face width behind it
REST_POSE = np.array([0, 0, 0, 0, 0, 1], np.float32)


# ----------------------------------------------------------------------------- labels
def role_ratio(role: str) -> np.ndarray:
    """(6,) how much this role moves relative to a speaker, per pose field (NoiseHeadMotion's table)."""
    r = np.array(_ROLE_STD[role]) / np.array(_ROLE_STD["speaker"])
    return np.r_[r, r.mean()].astype(np.float32)


def emotion_gain_offset(emotion: EmotionState) -> tuple[float, np.ndarray]:
    """Motion gain and resting pose offset (6,) of an emotion, from NoiseHeadMotion's table."""
    w = emotion.dist
    gain, pitch0, yaw0 = (sum(w[i] * _EMOTION_HEAD[e][j] for i, e in enumerate(EMOTIONS)) for j in range(3))
    offset = np.zeros(6, np.float32)
    offset[0], offset[1] = yaw0 * emotion.intensity, pitch0 * emotion.intensity
    return float(1 + (gain - 1) * emotion.intensity), offset


# ----------------------------------------------------------------------------- generator
@dataclass
class CRHMGConfig:
    """Settings of the CRHMG head-motion generator."""

    weights: Path | None = None  # checkpoint; None = assets/models/crhmg.pt
    epsilon: float = 1.0  # noise scale in [0, 1]: 1 = the learned diversity, 0 = one calm mean motion
    window: int = 80  # frames generated per window (at most the trained length)
    overlap: int = 32  # frames each window shares with the previous one
    context: int = 16  # the first of those are given to the new window as known poses; the rest cross-fade
    liveliness: float = 1.0  # overall motion scale (the app's slider), around the resting pose
    translation_gain: float = (
        0.5  # real tx/ty include torso sway, which a still portrait background cannot follow
    )
    max_angles_deg: tuple[float, float, float] = (
        25.0,
        18.0,
        15.0,
    )  # soft limits of yaw, pitch, roll (the warp folds beyond)
    max_shift_px: float = 30.0  # soft limit of |tx| and |ty|, crop pixels
    max_start: float = (
        2.5  # the network starts from start_pose clamped to this many stds; blend_in does the rest
    )
    start_blend: int = 12  # frames over which the track eases out of start_pose
    speech_pitch_deg: float = 2.5  # extra downward nod on loud syllables (speaker); a rule, not learned


def _soft_limit(x: np.ndarray, limit: float) -> np.ndarray:
    """Identity for small values, saturating smoothly at ±limit."""
    return (limit * np.tanh(x / limit)).astype(np.float32)


class CRHMGHeadMotion:
    """Head motion from the CRHMG Transformer; ``NoiseHeadMotion`` when the weights are missing."""

    def __init__(self, config: CRHMGConfig | None = None, model: LoadedModel | None = None) -> None:
        """``model`` skips loading (the trainer measures a network before saving it)."""
        self.cfg = cfg = config or CRHMGConfig()
        self.fallback: NoiseHeadMotion | None = None
        self.fallback_reason: str | None = None  # why the noise generator stands in, if it does
        self.model: LoadedModel | None = model
        if model is None:
            path = cfg.weights or WEIGHTS_PATH
            try:
                from warmchat.motion.crhmg_net import load_model  # torch comes with it

                self.model = load_model(path)
            except RuntimeError as err:
                self.fallback_reason = str(err)
                log.warning(
                    "CRHMG head motion unavailable (%s); using the noise head-motion generator instead", err
                )
                head_cfg = HeadConfig(liveliness=cfg.liveliness, speech_pitch_deg=cfg.speech_pitch_deg)
                self.fallback = NoiseHeadMotion(head_cfg)
                return
        n_max = self.model.net.cfg.n_frames
        if not (1 <= cfg.context < cfg.overlap <= cfg.window // 2 and cfg.window <= n_max):
            raise ValueError(
                f"need 1 <= context < overlap <= window/2 and window <= {n_max}; "
                f"got context={cfg.context}, overlap={cfg.overlap}, window={cfg.window}"
            )

    # ------------------------------------------------------------------ public
    def generate(
        self,
        role: str,
        emotion: EmotionState,
        n_frames: int,
        rng: np.random.Generator,
        start_pose: np.ndarray | None = None,
        speech: Speech | None = None,
    ) -> HeadTrack:
        if role not in HEAD_ROLES:
            raise ValueError(f"role must be 'speaker' or 'listener', got {role!r}")
        if self.fallback is not None:
            return self.fallback.generate(role, emotion, n_frames, rng, start_pose, speech)
        cfg = self.cfg
        _, offset = emotion_gain_offset(emotion)
        # 1. The learned motion around the rest pose (the emotion's resting offset comes later).
        start = None if start_pose is None else np.asarray(start_pose, np.float32) - offset
        motion = self.sample(role, emotion, n_frames, rng, start)  # (T, 6)
        # 2. Liveliness and the translation gain scale it; then the resting offset.
        dev = (motion - REST_POSE) * cfg.liveliness
        dev[:, 3:5] *= cfg.translation_gain
        pose = REST_POSE + dev + offset
        # 3. Speakers dip the head a little on loud syllables (beat gestures), as NoiseHeadMotion does.
        if role == "speaker" and speech is not None and n_frames > 0:
            loud = loudness_envelope(speech.audio, speech.sample_rate, FPS, n_frames)
            beat = np.convolve(loud, np.hanning(9) / np.hanning(9).sum(), "same")
            pose[:, 1] += cfg.speech_pitch_deg * cfg.liveliness * (beat - beat.mean())
        # 4. Soft limits keep the warp renderer in its comfortable range.
        for i, lim in enumerate(cfg.max_angles_deg):
            pose[:, i] = _soft_limit(pose[:, i], lim)
        pose[:, 3:5] = _soft_limit(pose[:, 3:5], cfg.max_shift_px)
        # 5. Continue exactly from the previous turn's last pose.
        pose = blend_in(pose.astype(np.float32), start_pose, frames=cfg.start_blend)
        return HeadTrack.from_array(pose)

    def masks(self, track: HeadTrack) -> np.ndarray:
        """(T, 2, M, M) float32 head and face masks that a head track implies."""
        import torch

        from warmchat.motion.crhmg_net import pose_masks

        size = self.model.net.cfg.mask_size if self.model is not None else 32
        with torch.inference_mode():
            return pose_masks(torch.from_numpy(track.as_array()), size).numpy()

    def sample(
        self,
        role: str,
        emotion: EmotionState,
        n_frames: int,
        rng: np.random.Generator,
        start: np.ndarray | None = None,
        return_masks: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """(T, 6) the network's motion in renderer units (rest pose + motion), windows joined.

        ``start`` is the first pose (without the emotion's offset). With
        ``return_masks`` the network's own decoded masks (T, 2, M, M) come too.
        """
        if self.model is None:
            raise RuntimeError("no CRHMG network loaded")
        import torch

        from warmchat.motion.crhmg_net import pose_masks

        net, std = self.model.net, self.model.pose_std
        cfg, T, M = self.cfg, max(n_frames, 0), net.cfg.mask_size
        win, ov, ctx = cfg.window, cfg.overlap, cfg.context
        eps = float(np.clip(cfg.epsilon, 0.0, 1.0))
        out = np.zeros((T, 6), np.float32)  # normalised poses
        masks = np.zeros((T, 2, M, M), np.float32) if return_masks else None
        # 1. The first known pose: the start pose, clamped into what the network has seen.
        known = np.zeros((1, 6), np.float32)
        if start is not None:
            scale = std * self.model.gain  # the output's units
            known[0] = np.clip(
                (np.asarray(start, np.float32) - REST_POSE) / scale, -cfg.max_start, cfg.max_start
            )
        # The cross-fade: the previous window over the known frames, then a cosine hand-over.
        fade = np.r_[np.zeros(ctx), 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, ov - ctx))]
        fade = fade.astype(np.float32)[:, None]  # (ov, 1), 0 -> 1
        n_noise = max(1, win // net.cfg.latent_stride)
        pos, done = 0, 0
        with torch.inference_mode():
            cond = net.condition(
                torch.tensor([HEAD_ROLES.index(role)]),
                torch.from_numpy(emotion.weighted().astype(np.float32))[None],
            )
            while done < T:
                # 2. One window: known leading poses, the first frame's mask, ε-scaled noise.
                kn = np.zeros((1, win, 6), np.float32)
                kn[0, : len(known)] = known
                flag = np.zeros((1, win), np.float32)
                flag[0, : len(known)] = 1.0
                mask0 = pose_masks(torch.from_numpy(known[:1] * std + REST_POSE), M)  # (1, 2, M, M)
                noise = eps * rng.standard_normal((1, n_noise, net.cfg.noise_dim)).astype(np.float32)
                h = net.decode(
                    mask0, torch.from_numpy(kn), torch.from_numpy(flag), cond, torch.from_numpy(noise)
                )
                y = net.pose_head(h)[0].numpy()  # (win, 6) normalised
                # 3. Join: the first window as is; later ones cross-faded over the overlap.
                take = min(win, T - pos)
                new_from = 0 if pos == 0 else min(ov, take)
                if pos > 0:
                    out[pos : pos + new_from] = (1 - fade[:new_from]) * out[pos : pos + new_from] + fade[
                        :new_from
                    ] * y[:new_from]
                out[pos + new_from : pos + take] = y[new_from:take]
                if masks is not None:
                    masks[pos + new_from : pos + take] = torch.sigmoid(net.masks(h[0, new_from:take])).numpy()
                done = pos + take
                # 4. The next window starts `ov` frames before the end, given the first `ctx` of them.
                pos = done - ov
                known = out[pos : pos + ctx].copy()
        poses = out * std * self.model.gain + REST_POSE
        return (poses, masks) if masks is not None else poses
