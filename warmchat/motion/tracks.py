"""Expression and head tracks: the data that flows from motion to the renderer.

Both are sampled at ``FPS`` frames per second. An expression track is T x K
(K named channels, ARKit-style blendshape names, each in [0, 1]); a head track
holds per-frame yaw, pitch, roll in degrees, translation in pixels of the
512-pixel crop, and a scale factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FPS = 25

# The expression channels, ARKit-style names, in a fixed order used everywhere
# (motion generators, presets, renderer). Values are in [0, 1].
CHANNELS: tuple[str, ...] = (
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthPress",
    "mouthUpperUp",
    "mouthLowerDown",
    "browInnerUp",
    "browDownLeft",
    "browDownRight",
    "browOuterUpLeft",
    "browOuterUpRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeWide",
    "eyeSquint",
    "cheekSquint",
    "noseSneer",
)
K = len(CHANNELS)
CH = {name: i for i, name in enumerate(CHANNELS)}  # name -> column index


def channel_vector(weights: dict[str, float]) -> np.ndarray:
    """(K,) float32 expression from channel weights by name (channels not named are 0)."""
    v = np.zeros(K, np.float32)
    for name, x in weights.items():
        v[CH[name]] = x
    return v


def n_frames(duration_s: float, fps: int = FPS) -> int:
    """Frames needed to cover ``duration_s`` seconds (at least one)."""
    return max(1, int(np.ceil(duration_s * fps - 1e-6)))


@dataclass
class ExpressionTrack:
    """T x K expression weights at ``FPS``; columns follow ``CHANNELS``."""

    values: np.ndarray  # (T, K) float32 in [0, 1]

    def __post_init__(self) -> None:
        self.values = np.clip(np.asarray(self.values, dtype=np.float32), 0.0, 1.0)
        if self.values.ndim != 2 or self.values.shape[1] != K:
            raise ValueError(f"expression track must be (T, {K}), got {self.values.shape}")

    def __len__(self) -> int:
        return self.values.shape[0]

    def channel(self, name: str) -> np.ndarray:
        """(T,) one channel by name."""
        return self.values[:, CH[name]]

    @classmethod
    def zeros(cls, t: int) -> ExpressionTrack:
        return cls(np.zeros((t, K), np.float32))


# Head-pose fields, in the order of HeadTrack.as_array() columns.
POSE_FIELDS: tuple[str, ...] = ("yaw", "pitch", "roll", "tx", "ty", "scale")


@dataclass
class HeadTrack:
    """Per-frame head pose: rotation in degrees, translation in crop pixels, scale."""

    yaw: np.ndarray  # (T,) degrees, positive = the face turns to the viewer's right
    pitch: np.ndarray  # (T,) degrees, positive = chin down (a nod goes positive then back)
    roll: np.ndarray  # (T,) degrees, positive = head tilts clockwise in the image
    tx: np.ndarray  # (T,) pixels, positive = right
    ty: np.ndarray  # (T,) pixels, positive = down
    scale: np.ndarray  # (T,) 1.0 = portrait size

    def __post_init__(self) -> None:
        for name in POSE_FIELDS:
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float32).reshape(-1))
        lengths = {len(getattr(self, name)) for name in POSE_FIELDS}
        if len(lengths) != 1:
            raise ValueError(f"head track fields differ in length: {lengths}")

    def __len__(self) -> int:
        return len(self.yaw)

    def as_array(self) -> np.ndarray:
        """(T, 6) columns in ``POSE_FIELDS`` order."""
        return np.stack([getattr(self, n) for n in POSE_FIELDS], axis=1)

    @classmethod
    def from_array(cls, a: np.ndarray) -> HeadTrack:
        a = np.asarray(a, dtype=np.float32)
        return cls(*[a[:, i] for i in range(len(POSE_FIELDS))])

    @classmethod
    def still(cls, t: int) -> HeadTrack:
        z = np.zeros(t, np.float32)
        return cls(z, z, z, z, z, np.ones(t, np.float32))

    def frame(self, i: int) -> np.ndarray:
        """(6,) the pose of frame ``i``."""
        return np.array([getattr(self, n)[i] for n in POSE_FIELDS], np.float32)


@dataclass
class AvatarState:
    """What carries over between turns for one avatar: its last expression and pose."""

    expression: np.ndarray  # (K,) last frame's expression
    pose: np.ndarray  # (6,) last frame's pose, POSE_FIELDS order

    @classmethod
    def rest(cls) -> AvatarState:
        return cls(np.zeros(K, np.float32), np.array([0, 0, 0, 0, 0, 1], np.float32))
