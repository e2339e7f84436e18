"""Folds and furrows: the shading an expression makes on the skin, in the portrait's own colours.

A warp moves pixels but cannot make a crease: a smile pushes the cheeks up
without the nasolabial fold that tells a viewer (and a FER-2013 classifier,
which sees a 48 x 48 grey face) it is a smile; lowered brows need the vertical
furrows between them to read as anger. So every expression channel that makes
a crease gets a soft shadow line with a faint highlight on its lit side, placed
once per portrait from its landmarks (in iod units along the face's own axes, as
the expression basis is), and scaled per frame by the channel weights:

    shade (h, w) = sum_i  w_i(expression) * (dark_i - light_i)

The shade darkens the portrait multiplicatively before the warp: a crease is the
skin's own colour, darker (a little warmer, as skin shadows are), and it moves
with the face because the warp carries it. Weights are linear in the channels,
so intensity scales smoothly from 0 (no shading at all) to 1.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from warmchat.motion.tracks import channel_vector
from warmchat.render import face as F


@dataclass(frozen=True)
class ShadingConfig:
    """How deep the creases are; all lengths in inter-ocular distances (iod)."""

    depth: float = 1.0  # overall strength (0 disables the shading)
    line_sigma: float = 0.035  # half-width of a fine crease (forehead lines, furrows)
    fold_sigma: float = 0.055  # half-width of a fold (nasolabial, under the lower lip)
    warm: tuple[float, float, float] = (
        0.85,
        1.0,
        1.08,
    )  # per-RGB share of the darkening: shadows on skin are warmer


@dataclass
class _Crease:
    weights: np.ndarray  # (K,) how much each channel deepens this crease (clipped at 1 after summing)
    dark: float  # darkening at the crease's centre at full weight (0.25 = 25 % darker)
    light: float  # brightening of its lit side at full weight
    polylines: list[np.ndarray]  # each (n, 2) pixels in the portrait
    sigma: float  # pixels
    light_offset: np.ndarray  # (2,) pixels: where the highlight sits relative to the line


def _w(**channels: float) -> np.ndarray:
    return channel_vector(channels)


def _bezier(a: np.ndarray, c: np.ndarray, b: np.ndarray, n: int = 12) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * c + t**2 * b


class ExpressionShader:
    """Shading of one portrait under any expression: ``shade(expression)`` -> multipliers on the face window."""

    def __init__(self, image: np.ndarray, lm: np.ndarray, geometry: dict, cfg: ShadingConfig | None = None):
        self.cfg = cfg = cfg or ShadingConfig()
        h, w = image.shape[:2]
        g = geometry
        iod, right, down = float(g["iod"]), np.asarray(g["right"]), np.asarray(g["down"])
        p = lm[:, :2].astype(np.float64)
        mid = (np.asarray(g["eye_r"]) + np.asarray(g["eye_l"])) / 2

        def at(u: float, v: float, origin: np.ndarray = mid) -> np.ndarray:
            return origin + iod * (u * right + v * down)

        def uv(i: int) -> tuple[float, float]:
            r = p[i] - mid
            return float(r @ right / iod), float(r @ down / iod)

        creases: list[_Crease] = []
        fine, fold = cfg.line_sigma * iod, cfg.fold_sigma * iod
        brow_top = min(uv(i)[1] for i in F.BROW_R[:5] + F.BROW_L[:5])  # v of the brows' upper edge
        forehead = uv(F.FOREHEAD)[1]  # v of the hairline's middle (negative: above the eyes)
        for side, sfx, corner, brow_inner in ((-1, "Right", F.MOUTH_CORNERS[0], F.BROW_R[9]),
                                              (+1, "Left", F.MOUTH_CORNERS[1], F.BROW_L[9])):  # fmt: skip
            # 1. Nasolabial fold: from beside the nose wing, curving out, to beside the mouth corner.
            wing = max(F.NOSE_WINGS, key=lambda i: side * uv(i)[0])
            uw, vw = uv(wing)
            uc, vc = uv(corner)
            a = at(uw + side * 0.06, vw - 0.08)
            b = at(uc + side * 0.10, vc + 0.14)
            c = (a + b) / 2 + iod * side * 0.09 * right
            creases.append(_Crease(
                _w(**{f"mouthSmile{sfx}": 0.8, "cheekSquint": 0.5, "noseSneer": 0.7, "mouthUpperUp": 0.4}),
                0.30, 0.10, [_bezier(a, c, b)], fold, iod * 0.09 * (side * right - 0.6 * down),
            ))  # fmt: skip
            # 2. Marionette line: down and out from the mouth corner when it is pulled down.
            creases.append(_Crease(
                _w(**{f"mouthFrown{sfx}": 0.9}), 0.22, 0.05,
                [_bezier(at(uc + side * 0.04, vc + 0.03), at(uc + side * 0.09, vc + 0.14), at(uc + side * 0.12, vc + 0.30))],
                fine * 1.2, iod * 0.06 * side * right,
            ))  # fmt: skip
            # 3. Crow's feet and the pushed-up lower lid of a real (Duchenne) smile.
            eye_outer = F.EYE_R_CORNERS[0] if side < 0 else F.EYE_L_CORNERS[0]
            ue, ve = uv(eye_outer)
            rays = [
                np.array([at(ue + side * 0.05, ve + dv * 0.3), at(ue + side * 0.2, ve + dv)])
                for dv in (-0.1, 0.0, 0.1)
            ]
            creases.append(_Crease(
                _w(cheekSquint=0.8, eyeSquint=0.4, **{f"mouthSmile{sfx}": 0.3}), 0.20, 0.0, rays, fine, np.zeros(2),
            ))  # fmt: skip
            # 4. Brow furrow: a vertical crease above each inner brow end when the brows come down.
            ub, vb = uv(brow_inner)
            creases.append(_Crease(
                _w(**{f"browDown{sfx}": 1.0}), 0.32, 0.06,
                [_bezier(at(ub - side * 0.10, vb + 0.02), at(ub - side * 0.13, vb - 0.12), at(ub - side * 0.12, vb - 0.30))],
                fine, iod * 0.07 * side * right,
            ))  # fmt: skip
            # 5. Nose wrinkle ("bunny lines") beside the bridge when the nose sneers.
            un, vn = uv(6)
            creases.append(_Crease(
                _w(noseSneer=1.0), 0.2, 0.06,
                [np.array([at(un + side * 0.06, vn + 0.22), at(un + side * 0.20, vn + 0.12)]),
                 np.array([at(un + side * 0.07, vn + 0.32), at(un + side * 0.19, vn + 0.26)])],
                fine, -iod * 0.06 * down,
            ))  # fmt: skip
        # 6. Forehead lines: arcs above the brows when they rise, the middle from the inner
        #    brows (sadness, fear), the whole width from the outer ones (surprise). Only as
        #    many as fit below the hairline.
        room = brow_top - forehead  # > 0: iod from the brows up to the hairline
        for k, dv in enumerate((0.16, 0.30, 0.44)):
            if dv > 0.8 * room:
                break
            v0 = brow_top - dv
            inner = _bezier(at(-0.32, v0 + 0.02), at(0.0, v0 - 0.03), at(0.32, v0 + 0.02), 10)
            outer_r = _bezier(at(-0.85, v0 + 0.10), at(-0.65, v0 + 0.01), at(-0.36, v0 + 0.01), 8)
            outer_l = _bezier(at(0.36, v0 + 0.01), at(0.65, v0 + 0.01), at(0.85, v0 + 0.10), 8)
            depth = 0.18 - 0.03 * k
            creases.append(_Crease(_w(browInnerUp=0.9, browOuterUpLeft=0.3, browOuterUpRight=0.3),
                                   depth, 0.06, [inner], fine, iod * 0.05 * down))  # fmt: skip
            creases.append(_Crease(_w(browOuterUpRight=1.0, browInnerUp=0.2), depth, 0.06, [outer_r], fine,
                                   iod * 0.05 * down))  # fmt: skip
            creases.append(_Crease(_w(browOuterUpLeft=1.0, browInnerUp=0.2), depth, 0.06, [outer_l], fine,
                                   iod * 0.05 * down))  # fmt: skip
        # 7. The chin's crease under the lower lip when the lips press and the corners fall.
        ul, vl = uv(17)
        creases.append(_Crease(
            _w(mouthPress=0.7, mouthFrownLeft=0.3, mouthFrownRight=0.3), 0.20, 0.06,
            [_bezier(at(ul - 0.22, vl + 0.05), at(ul, vl + 0.16), at(ul + 0.22, vl + 0.05))],
            fold, iod * 0.07 * down,
        ))  # fmt: skip

        # The window the creases live in (with room for blur), and each crease's map there.
        allp = np.concatenate([np.concatenate(c.polylines) for c in creases])
        pad = 4 * max(fold, fine) + 0.15 * iod
        x0, y0 = np.floor(allp.min(0) - pad).astype(int)
        x1, y1 = np.ceil(allp.max(0) + pad).astype(int)
        self.window = (max(y0, 0), min(y1, h), max(x0, 0), min(x1, w))  # (y0, y1, x0, x1)
        wy0, wy1, wx0, wx1 = self.window
        size = (wy1 - wy0, wx1 - wx0)
        origin = np.array([wx0, wy0], np.float64)
        skin = F.FACE_OVAL
        oval = cv2.fillPoly(np.zeros(size, np.uint8), [np.round(p[skin] - origin).astype(np.int32)], 255)
        # Creases stay on the skin: nothing is drawn beyond the face oval (hair, background).
        oval = cv2.GaussianBlur(oval, (0, 0), max(1.0, 0.04 * iod)).astype(np.float32) / 255
        maps, weights = [], []
        for c in creases:
            line = _line_map(size, [q - origin for q in c.polylines], c.sigma)
            lit = (
                _line_map(size, [q - origin + c.light_offset for q in c.polylines], c.sigma * 1.3)
                if c.light
                else 0
            )
            maps.append(((c.dark * line - c.light * lit) * oval * cfg.depth).astype(np.float32).ravel())
            weights.append(c.weights)
        # Stored at half resolution (creases are soft, sigma >= 2 px at 512): the per-frame
        # weighted sum is 4x less work, and one resize brings it back.
        self.shape = size
        self.half = ((size[0] + 1) // 2, (size[1] + 1) // 2)
        small = [
            cv2.resize(m.reshape(size), self.half[::-1], interpolation=cv2.INTER_AREA).ravel() for m in maps
        ]
        self.maps = np.stack(small)  # (M, h/2 * w/2) shade per unit weight
        self.weights = np.stack(weights)  # (M, K)
        self.warm = np.asarray(cfg.warm, np.float32)
        # apply()'s buffer, one per thread (.out) with the portrait it holds (.of): a turn renders on a
        # thread of its own (warmchat.live), so a buffer goes when its turn ends.
        self._buffers = threading.local()

    def shade(self, expression: np.ndarray) -> np.ndarray | None:
        """(h, w) float32 darkening (negative = brighter) over ``window`` for an expression (K,), or None if flat."""
        w = np.clip(self.weights @ np.asarray(expression, np.float32), 0.0, 1.0)  # (M,)
        on = w > 0.02
        if not on.any():
            return None
        half = (w[on] @ self.maps[on]).reshape(self.half)
        return cv2.resize(half, self.shape[::-1], interpolation=cv2.INTER_LINEAR)

    def apply(self, image: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """``image`` (S, S, 3 uint8, the portrait) with the expression's creases; the input itself when flat.

        The result is a buffer this shader reuses on the calling thread's next call (read it before
        then): outside the creases' window it is always ``image``, so only the window is written per
        frame, not a copy of the whole portrait (0.1-0.2 ms). One buffer per thread: avatars of the
        same portrait share their renderer, and two visitors' turns render on two threads.
        """
        s = self.shade(expression)
        if s is None:
            return image
        y0, y1, x0, x1 = self.window
        buf = self._buffers
        if getattr(buf, "of", None) is not image:
            buf.out, buf.of = image.copy(), image
        out = buf.out
        # Multipliers in 1/128 steps as uint8 (a crease darkens by up to ~35 %, a highlight
        # brightens by ~10 %): one saturating SIMD multiply instead of float arithmetic.
        mult = cv2.merge(
            [cv2.convertScaleAbs(s, alpha=-128.0 * float(k), beta=128.0) for k in self.warm]
        )  # (h, w, 3)
        out[y0:y1, x0:x1] = cv2.multiply(image[y0:y1, x0:x1], mult, scale=1.0 / 128)
        return out


def _line_map(size: tuple[int, int], polylines: list[np.ndarray], sigma: float) -> np.ndarray:
    """(h, w) float32 soft lines: 1 on the line's middle, tapering to 0 at its ends and sideways (Gaussian)."""
    sub = 4  # sub-pixel bits of cv2's line drawing
    acc = np.zeros(size, np.float32)
    for pl in polylines:
        # Resample the line evenly and draw it as short pieces whose brightness follows a taper.
        seg = np.linalg.norm(np.diff(pl, axis=0), axis=1)
        s = np.r_[0, np.cumsum(seg)]
        n = max(4, int(s[-1] / max(sigma * 0.5, 0.5)))
        t = np.linspace(0, s[-1], n)
        pts = np.stack([np.interp(t, s, pl[:, 0]), np.interp(t, s, pl[:, 1])], 1)
        taper = np.sin(np.pi * np.clip(t / max(s[-1], 1e-6), 0, 1)) ** 0.7
        img = np.zeros(size, np.uint8)
        for i in range(n - 1):
            a = tuple(np.round(pts[i] * (1 << sub)).astype(int))
            b = tuple(np.round(pts[i + 1] * (1 << sub)).astype(int))
            cv2.line(img, a, b, int(255 * 0.5 * (taper[i] + taper[i + 1])), 1, cv2.LINE_AA, sub)
        acc = np.maximum(acc, img.astype(np.float32) / 255)
    blurred = cv2.GaussianBlur(acc, (0, 0), max(sigma / np.sqrt(2), 0.5))
    peak = float(blurred.max())
    return blurred / peak if peak > 0 else blurred
