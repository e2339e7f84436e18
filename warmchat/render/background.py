"""The background behind the person, so that a moving head uncovers background, not a ghost.

The warp can only move the portrait's pixels. Where the head moves away from a
spot, the warp fills it with what lies next to it: a shifted, stretched copy of
the head top (a second topknot, hair torn into streaks) or, at the frame's
edge, a mirror image. So, once per portrait, we separate the person from the
background with MediaPipe's bundled selfie segmentation and paint the person
out (OpenCV's inpainting, on a small copy: what shows is only ever a few
pixels wide at the silhouette, so it need not be sharp). Each frame then takes
the warped person where the warped person mask says so and this still
background plate everywhere else: the background never stretches, and what a
moving head uncovers is background.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from warmchat.render import face as F

log = logging.getLogger(__name__)


def _segment(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: how much each pixel is the person (MediaPipe selfie segmentation)."""
    with F._MP_LOCK:
        res = F._mp_model("selfie").process(np.ascontiguousarray(rgb))
    if res.segmentation_mask is None:
        return np.zeros(rgb.shape[:2], np.float32)
    return np.clip(res.segmentation_mask.astype(np.float32), 0, 1)


class BackgroundPlate:
    """The portrait's person mask and the background with the person painted out."""

    def __init__(self, image: np.ndarray, lm: np.ndarray, work_side: int = 128) -> None:
        s = image.shape[0]
        person = _segment(image)  # (S, S)
        # The face itself is always the person (segmentation can miss a painted or CG face).
        face = np.zeros((s, s), np.uint8)
        cv2.fillPoly(face, [np.round(lm[F.FACE_OVAL, :2]).astype(np.int32)], 1)
        person = np.maximum(person, face.astype(np.float32))
        self.ok = float((person > 0.5).mean()) > 0.02
        # Soft edges: the alpha that the warped person is composited with (hair is soft).
        self.mask = cv2.GaussianBlur(person, (0, 0), max(1.0, s / 256))  # (S, S) float32
        # The plate: the person (grown a little, so no hair fringe is left) painted out.
        k = max(3, s // 40) | 1
        hole = cv2.dilate((person > 0.3).astype(np.uint8), np.ones((k, k), np.uint8))
        small = cv2.resize(image, (work_side, work_side), interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole, (work_side, work_side), interpolation=cv2.INTER_NEAREST)
        filled = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
        filled = cv2.GaussianBlur(filled, (0, 0), 1.5)
        big = cv2.resize(filled, (s, s), interpolation=cv2.INTER_CUBIC)
        keep = cv2.GaussianBlur((1 - hole).astype(np.float32), (0, 0), 2.0)[..., None]
        self.plate = (image * keep + big * (1 - keep)).astype(np.uint8)  # (S, S, 3)

    def composite(self, frame: np.ndarray, sample_map: np.ndarray) -> None:
        """Replace, in ``frame`` (S, S, 3 uint8, the warped portrait) in place, every pixel the
        warped person does not cover with the still background plate.

        ``sample_map`` is the (S, S, 2) float32 backward map the frame was warped with.
        """
        if not self.ok:
            return
        s = frame.shape[0]
        # 1. Only where the warp moves pixels is there anything to do: find that window on
        #    a coarse copy of the map's offsets (the warp leaves the frame's edges still).
        step = 8
        px = np.arange(0, s, step, dtype=np.float32)
        grid = np.stack(np.meshgrid(px, px), -1)  # (S/8, S/8, 2) the identity map, coarse
        off = np.abs(sample_map[::step, ::step] - grid).max(-1)  # (S/8, S/8)
        ys, xs = np.nonzero(off.max(1) > 0.05)[0], np.nonzero(off.max(0) > 0.05)[0]
        if len(ys) == 0:
            return
        y0, y1 = max(ys[0] * step - step, 0), min(ys[-1] * step + 2 * step, s)
        x0, x1 = max(xs[0] * step - step, 0), min(xs[-1] * step + 2 * step, s)
        m = sample_map[y0:y1, x0:x1]
        # 2. The person mask, warped as the frame was. What the warp would bring in from
        #    beyond the frame's edge is taken as background: continuing the edge row of
        #    hair upwards draws a stalk of hair over the head.
        a = cv2.remap(self.mask, m[..., 0], m[..., 1], cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
        # 3. Keep the warped pixels where the person mask did not move (they are the portrait's
        #    own, fringes included); where it moved, take the warped person over the plate.
        still = self.mask[y0:y1, x0:x1]
        keep = np.maximum(a, 1.0 - np.minimum(np.abs(a - still) * 20.0, 1.0))
        frame[y0:y1, x0:x1] = cv2.blendLinear(frame[y0:y1, x0:x1], self.plate[y0:y1, x0:x1], keep, 1.0 - keep)
