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

# Outside the face, a frame pixel whose backward map covers less than this much of the portrait
# per pixel (the warp magnifies it) is a smear: where the segmenter is unsure of the person the
# plate takes over from here down to 0.3 of it; where it is sure (hair), from 0.4 down to 0.2
# (a 5x magnification; a head turn or a nod stays above 0.6).
STRETCH_AREA = 0.6
UNSURE_PERSON = 0.05  # inside the head's region, a person probability above this is painted out of the plate

log = logging.getLogger(__name__)


def segment_person(rgb: np.ndarray, tracer=None) -> np.ndarray:
    """(H, W) float32 in [0, 1]: how much each pixel is the person (MediaPipe selfie segmentation,
    by ``tracer``, a ``render.tracer.FaceTracer``, or a fresh one)."""
    from warmchat.render.tracer import FaceTracer  # MediaPipe lives there

    return (tracer or FaceTracer()).person(rgb)


class BackgroundPlate:
    """The portrait's person mask and the background with the person painted out."""

    def __init__(
        self, image: np.ndarray, lm: np.ndarray, person: np.ndarray | None = None, work_side: int = 128
    ) -> None:
        """``person`` (S, S): the tracer's segmentation of ``image``; None segments it here."""
        s = image.shape[0]
        person = segment_person(image) if person is None else person  # (S, S)
        # The face itself is always the person (segmentation can miss a painted or CG face).
        face = np.zeros((s, s), np.uint8)
        cv2.fillPoly(face, [np.round(lm[F.FACE_OVAL, :2]).astype(np.int32)], 1)
        person = np.maximum(person, face.astype(np.float32))
        self.ok = float((person > 0.5).mean()) > 0.02
        # Soft edges: the alpha that the warped person is composited with (hair is soft).
        self.mask = cv2.GaussianBlur(person, (0, 0), max(1.0, s / 256))  # (S, S) float32
        # The plate: the person (grown a little, so no hair fringe is left) painted out.
        self._image, self._person, self._work_side = image, person, work_side
        self.plate = self._paint_out(person > 0.3)  # (S, S, 3)
        # (S, S, 3): the person mask, the head's region (what moves rigidly with the head; the
        # whole picture until the renderer says where its head ring lies) and the face itself,
        # where a warp magnifies for real (lips parting; the mouth and lid painters draw what
        # opens): no smear test there.
        self._face = cv2.GaussianBlur(face.astype(np.float32), (0, 0), max(1.0, s / 128))
        self.alpha = np.dstack([self.mask, np.ones_like(self.mask), self._face])
        px = np.arange(s, dtype=np.float32)
        self._grid = np.stack(np.meshgrid(px, px), -1)  # (S, S, 2) the identity map
        self._grid8 = np.ascontiguousarray(self._grid[::8, ::8])  # (S/8, S/8, 2) coarse copies of it
        self._grid4 = np.ascontiguousarray(self._grid[::4, ::4])  # (S/4, S/4, 2)

    def _paint_out(self, person: np.ndarray) -> np.ndarray:
        """(S, S, 3) uint8: the portrait with ``person`` (S, S) bool, grown a little, inpainted away."""
        image, s, side = self._image, self._image.shape[0], self._work_side
        k = max(3, s // 40) | 1
        hole = cv2.dilate(person.astype(np.uint8), np.ones((k, k), np.uint8))
        small = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole, (side, side), interpolation=cv2.INTER_NEAREST)
        filled = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
        filled = cv2.GaussianBlur(filled, (0, 0), 1.5)
        big = cv2.resize(filled, (s, s), interpolation=cv2.INTER_CUBIC)
        keep = cv2.GaussianBlur((1 - hole).astype(np.float32), (0, 0), 2.0)[..., None]
        return (image * keep + big * (1 - keep)).astype(np.uint8)

    def set_head_region(self, ring: np.ndarray, eyes: np.ndarray, down: np.ndarray) -> None:
        """The polygon (N, 2) inside which the renderer moves the portrait with the head, from
        the eyes' midpoint (2,) up (``down`` (2,) is the face's down axis): the crown, hair, a hat.

        Beside the neck the ring holds background that the head carries along (a wall's edge
        there would jump), so the region ends at the eyes."""
        s = self.mask.shape[0]
        region = np.zeros((s, s), np.uint8)
        cv2.fillPoly(region, [np.round(ring).astype(np.int32)], 255)
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        above = ((xx - eyes[0]) * down[0] + (yy - eyes[1]) * down[1]) < 0
        region[~above] = 0
        soft = cv2.GaussianBlur(region, (0, 0), max(1.0, s / 128)).astype(np.float32) / 255
        self.alpha = np.dstack([self.mask, soft, self._face])
        # What sits on the head that the segmenter is unsure of (a cap's badge, wisps of hair)
        # moves with the head, so it must not stay in the plate either: left there, a nod
        # uncovers a second copy of it above the head. Inside the head's region the plate
        # paints out anything the segmenter gives a fair chance of being the person.
        # Up to the picture's top edge too: a cap or hair cut off by the edge moves with the head
        # all the same, and above the ring is where a nod uncovers the most.
        up = np.maximum.accumulate((region > 0)[::-1], axis=0)[::-1]  # each column: the region and above
        unsure = up & (self._person > UNSURE_PERSON) & (self._person <= 0.3)
        if unsure.sum() > 0.002 * s * s:
            self.plate = self._paint_out((self._person > 0.3) | unsure)

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
        # Channels are combined one by one: numpy's reductions over a short last axis
        # (``.max(-1)``, ``.sum(-1)``) take ~0.2 ms each on these arrays, 40x the arithmetic.
        step = 8
        off = cv2.absdiff(sample_map[::step, ::step], self._grid8)  # (S/8, S/8, 2)
        off = np.maximum(off[..., 0], off[..., 1])
        ys, xs = np.nonzero(off.max(1) > 0.05)[0], np.nonzero(off.max(0) > 0.05)[0]
        if len(ys) == 0:
            return
        y0, y1 = max(ys[0] * step - step, 0), min(ys[-1] * step + 2 * step, s)
        x0, x1 = max(xs[0] * step - step, 0), min(xs[-1] * step + 2 * step, s)
        # Steps 2-3 run at a quarter of the resolution (the masks are soft, blurred over
        # ~2 px; 16x less work), then the blend weight is upsampled to the window.
        q = 4
        y0, x0 = y0 - y0 % q, x0 - x0 % q
        m = np.ascontiguousarray(sample_map[y0:y1:q, x0:x1:q])  # (h/q, w/q, 2) where each pixel comes from
        # 2. The person mask, warped as the frame was. What the warp would bring in from
        #    beyond the frame's edge is taken as background: continuing the edge row of
        #    hair upwards draws a stalk of hair over the head.
        ah = cv2.remap(self.alpha, m, None, cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
        a, head, in_face = ah[..., 0], ah[..., 1], ah[..., 2]
        # 3. Keep the warped pixels where the warp did not move them (they are the portrait's
        #    own, hair fringes included) and where the warped person is. Inside the head's
        #    region, what moved with the head but the segmenter missed (a cap's badge, grey
        #    hair on a grey wall) stays too, where the person mask did not change. Elsewhere
        #    the background the warp dragged along (a wall's edge bent into a wave) is the
        #    plate, which is the still background itself there.
        moved = cv2.absdiff(m, self._grid4[y0 // q : y0 // q + m.shape[0], x0 // q : x0 // q + m.shape[1]])
        moved = moved[..., 0] + moved[..., 1]  # pixels
        still = self.mask[y0:y1:q, x0:x1:q]
        same = head * (1.0 - np.minimum(cv2.absdiff(a, still) * 20.0, 1.0))
        # Where the warp magnifies the portrait (a strip pulled out between the moving head and
        # the still frame edge: the backward map's area ratio well below 1), what it shows is a
        # smear of whatever lay there (a cap's top pulled up to the frame's edge, hair torn into
        # streaks): the plate, from a milder stretch where the segmenter is unsure of the person.
        gx, gy = np.gradient(m[..., 0], q), np.gradient(m[..., 1], q)
        area = gx[1] * gy[0] - gx[0] * gy[1]  # d(src x)/dx * d(src y)/dy - d(src x)/dy * d(src y)/dx
        smear = np.clip((STRETCH_AREA - area) / 0.3, 0.0, 1.0)
        smear = np.where(a < 0.9, smear, np.clip((STRETCH_AREA - 0.2 - area) / 0.2, 0.0, 1.0))
        smear *= 1.0 - in_face
        a, same = a * (1.0 - smear), same * (1.0 - smear)
        keep = np.maximum(np.maximum(a, 1.0 - np.minimum(moved, 1.0)), same)
        # Only where some of the plate shows is there anything to blend.
        rows, cols = np.nonzero((keep < 0.999).any(1))[0], np.nonzero((keep < 0.999).any(0))[0]
        if len(rows) == 0:
            return
        r0, r1 = max(rows[0] - 1, 0), min(rows[-1] + 2, keep.shape[0])
        c0, c1 = max(cols[0] - 1, 0), min(cols[-1] + 2, keep.shape[1])
        keep = keep[r0:r1, c0:c1]
        y0, x0 = y0 + q * r0, x0 + q * c0
        y1, x1 = min(y0 + q * (r1 - r0), y1), min(x0 + q * (c1 - c0), x1)
        keep = cv2.resize(keep, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        frame[y0:y1, x0:x1] = cv2.blendLinear(frame[y0:y1, x0:x1], self.plate[y0:y1, x0:x1], keep, 1.0 - keep)
