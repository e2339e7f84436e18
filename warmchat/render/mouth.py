"""The inside of the mouth: cavity, teeth and tongue, painted where the lips part.

The warp can only move the portrait's own pixels; when the jaw drops it opens a
gap the portrait never showed. We paint that gap (the polygon of the displaced
inner lips) with colours taken from the portrait itself, in a small window
around the mouth, so it costs well under a millisecond per frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from warmchat.render import face as F

_INNER = F.LIPS_UPPER_INNER + F.LIPS_LOWER_INNER[::-1]  # closed polygon of the opening
_MID_UP = F.LIPS_UPPER_INNER[3:8]  # central inner upper-lip points
_MID_LO = F.LIPS_LOWER_INNER[2:7][::-1]  # their lower partners, same order (left -> right)
_SUB = 4  # sub-pixel bits for cv2.fillPoly (coordinates * 16)


def _poly_mask(shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(pts * (1 << _SUB)).astype(np.int32)], 255, cv2.LINE_AA, _SUB)
    return m


class MouthPainter:
    """Paints the oral cavity, teeth and tongue into rendered frames of one portrait."""

    def __init__(self, image: np.ndarray, lm: np.ndarray, geometry: dict) -> None:
        self.iod = geometry["iod"]
        self.down = geometry["down"]
        h, w = image.shape[:2]
        pts = lm[:, :2]
        # Lip colour: the ring between the outer and inner lip contours.
        outer = _poly_mask((h, w), pts[F.LIPS_UPPER_OUTER + F.LIPS_LOWER_OUTER[::-1]])
        inner = _poly_mask((h, w), pts[_INNER])
        ring = (outer > 128) & (inner < 128)
        lip = image[ring].mean(0) if ring.sum() > 10 else np.array([170.0, 90, 90])
        skin_mask = _poly_mask((h, w), pts[F.FACE_OVAL]) > 128
        skin = np.median(image[skin_mask], axis=0) if skin_mask.sum() > 100 else lip
        lum = float(skin @ [0.299, 0.587, 0.114])
        # Teeth: the portrait's own if its mouth is open enough to show them,
        # otherwise an off-white dimmed to the portrait's lighting (a dark
        # painting must not get glowing teeth).
        gap = float(np.median((pts[_MID_LO] - pts[_MID_UP]) @ self.down))
        shown = image[inner > 128]
        if gap > 0.04 * self.iod and len(shown) > 20:
            bright = shown[shown.sum(1) >= np.percentile(shown.sum(1), 70)]
            teeth = bright.mean(0)
        else:
            teeth = np.array([236.0, 230, 218]) * np.clip(lum / 175.0, 0.55, 1.0)
        self.teeth = teeth.astype(np.float32)
        # The portrait's own opening shows its own teeth: we only paint the part
        # of an opening that goes beyond it, fading in over ``fade`` pixels.
        self.rest_opening = max(gap, 0.0)
        self.fade = 0.08 * self.iod
        self.cavity = (lip * 0.22 + np.array([10.0, 0, 0])).astype(np.float32)
        self.tongue = (lip * 0.7 + np.array([25.0, -5, -5])).clip(0, 255).astype(np.float32)

    def opening(self, pts: np.ndarray) -> float:
        """Height of the gap between the inner lips, pixels (0 when closed)."""
        return float(max(np.median((pts[_MID_LO] - pts[_MID_UP]) @ self.down), 0.0))

    def paint(self, frame: np.ndarray, pts: np.ndarray) -> None:
        """Paint the mouth interior into ``frame`` (S, S, 3 uint8) in place.

        ``pts`` are the displaced landmarks (478, 2) of this frame.
        """
        height = self.opening(pts)
        strength = float(np.clip((height - self.rest_opening - 0.5) / self.fade, 0.0, 1.0))
        if height < 1.0 or strength <= 0.0:
            return
        poly = pts[_INNER]
        x0, y0 = np.floor(poly.min(0)).astype(int) - 3
        x1, y1 = np.ceil(poly.max(0)).astype(int) + 4
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        off = np.array([x0, y0], np.float32)
        shape = (y1 - y0, x1 - x0)
        mouth = _poly_mask(shape, poly - off).astype(np.float32) / 255.0

        # 1. Cavity, darker towards the back (centre) of the mouth.
        interior = np.empty((*shape, 3), np.float32)
        interior[:] = self.cavity
        depth = cv2.GaussianBlur(mouth, (0, 0), max(height * 0.25, 1.0))
        interior *= (1.25 - 0.5 * depth)[..., None]

        up = pts[F.LIPS_UPPER_INNER] - off  # (11, 2) left -> right
        lo = pts[[F.LIPS_UPPER_INNER[0], *F.LIPS_LOWER_INNER, F.LIPS_UPPER_INNER[-1]]] - off
        width = float(np.linalg.norm(up[-1] - up[0]))
        centre_x = (up[0, 0] + up[-1, 0]) / 2
        xs = np.arange(shape[1], dtype=np.float32)
        across = np.clip(1 - 0.35 * ((xs - centre_x) / max(width / 2, 1)) ** 2, 0.6, 1)[None, :, None]
        down = self.down.astype(np.float32)

        # 2. Tongue: a low mound at the back of a wide-open mouth.
        if height > 0.10 * self.iod:
            tongue = np.zeros(shape, np.uint8)
            c = lo[len(lo) // 2] - down * (0.22 * height)
            axes = (int(max(width * 0.3, 1)), int(max(height * 0.28, 1)))
            cv2.ellipse(tongue, tuple(np.round(c).astype(int)), axes, 0, 180, 360, 255, -1, cv2.LINE_AA)
            a = cv2.GaussianBlur(tongue, (3, 3), 0).astype(np.float32)[..., None] / 255
            interior = interior * (1 - a) + self.tongue * a

        # 3. Lower teeth, only for wide openings, then the upper teeth hanging
        #    from the upper lip; both shaded darker towards the corners.
        def band(edge: np.ndarray, thickness: float, color: np.ndarray, sign: float) -> None:
            nonlocal interior
            poly_t = np.concatenate([edge, (edge + sign * down * thickness)[::-1]])
            m = _poly_mask(shape, poly_t).astype(np.float32)[..., None] / 255
            interior = interior * (1 - m) + (color * across) * m

        if height > 0.22 * self.iod:
            band(lo[2:-2], min(0.05 * self.iod, 0.25 * height), self.teeth * 0.8, -1.0)
        band(up[1:-1], min(0.11 * self.iod, 0.55 * height), self.teeth, +1.0)

        # 4. Composite inside the (anti-aliased) inner-lip polygon.
        a = mouth[..., None] * strength
        roi = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = (roi * (1 - a) + interior * a).clip(0, 255).astype(np.uint8)
