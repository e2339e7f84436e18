"""The inside of the mouth: cavity, teeth and tongue, painted where the lips part.

The warp can only move the portrait's own pixels; when the jaw drops it opens a
gap the portrait never showed. We paint that gap (the polygon of the displaced
inner lips) in a small window around the mouth:

* a portrait whose mouth is already open keeps its own teeth: the pixels inside
  its lips are split at the midline, the upper half rides with the upper lip and
  the lower half with the jaw, and the cavity shows in between;
* a closed mouth gets teeth and a tongue drawn in colours taken from the
  portrait (lip colour for the cavity; for the teeth the whites of its eyes,
  warmed by the skin's hue, so a dark painting does not get glowing teeth, or
  its own teeth where it shows them but their smile is taken away);
* where the warp closes a portrait's own open mouth (neutral on a smiling photo),
  the lips meet over a dark seam instead of the squeezed teeth.

It costs well under a millisecond per frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from warmchat.render import face as F

_INNER = F.LIPS_UPPER_INNER + F.LIPS_LOWER_INNER[::-1]  # closed polygon of the opening
_MID_UP = F.LIPS_UPPER_INNER[3:8]  # central inner upper-lip points, left -> right
_MID_LO = F.LIPS_LOWER_INNER[2:7]  # their lower partners, same order
_LO_CURVE = [F.LIPS_UPPER_INNER[0], *F.LIPS_LOWER_INNER, F.LIPS_UPPER_INNER[-1]]  # left -> right
_SKULL = 2  # the landmark under the nose tip: moves with the head, not with expressions
SUB_BITS = 4  # sub-pixel bits for cv2.fillPoly (coordinates * 16)
LUMA = np.float32([0.299, 0.587, 0.114])  # Rec. 601 weights: the brightness of an RGB colour


def poly_mask(shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    """(H, W) uint8 mask, 255 inside the polygon ``pts`` (N, 2), anti-aliased at sub-pixel precision."""
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(pts * (1 << SUB_BITS)).astype(np.int32)], 255, cv2.LINE_AA, SUB_BITS)
    return m


def box_around(poly: np.ndarray, shape: tuple[int, int], margin: int = 3) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the box around ``poly`` (N, 2) grown by ``margin`` pixels, inside ``shape`` (h, w)."""
    x0, y0 = np.floor(poly.min(0)).astype(int) - margin
    x1, y1 = np.ceil(poly.max(0)).astype(int) + margin + 1
    return max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])


def lip_midline(pts: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(W,) the rows where the inner lips meet (midway between the upper and the lower inner lip)
    at the image columns ``xs`` (W,), for landmarks ``pts`` (478, 2)."""
    up, lo = pts[F.LIPS_UPPER_INNER], pts[_LO_CURVE]
    up, lo = up[np.argsort(up[:, 0])], lo[np.argsort(lo[:, 0])]
    return (np.interp(xs, up[:, 0], up[:, 1]) + np.interp(xs, lo[:, 0], lo[:, 1])) / 2


def _sclera_colour(image: np.ndarray, pts: np.ndarray) -> np.ndarray | None:
    """Median colour (3,) of the whites of both eyes (eye opening minus the iris), None if unseen."""
    h, w = image.shape[:2]
    whites = []
    for upper, lower, iris in (
        (F.EYE_R_UPPER, F.EYE_R_LOWER, F.IRIS_R),
        (F.EYE_L_UPPER, F.EYE_L_LOWER, F.IRIS_L),
    ):
        eye = poly_mask((h, w), np.concatenate([pts[upper], pts[lower][::-1]])) > 128
        c = pts[iris[0]]
        r = float(np.linalg.norm(pts[iris[1:]] - c, axis=1).mean()) * 1.1
        yy, xx = np.ogrid[:h, :w]
        eye &= (xx - c[0]) ** 2 + (yy - c[1]) ** 2 > r * r
        whites.append(image[eye].astype(np.float32))
    px = np.concatenate(whites)
    if len(px) < 12:
        return None
    luma = px @ LUMA
    return np.median(px[luma >= np.percentile(luma, 60)], axis=0)  # the lit whites, not the lid's shadow


class MouthPainter:
    """Paints the oral cavity, teeth and tongue into rendered frames of one portrait."""

    def __init__(self, image: np.ndarray, lm: np.ndarray, geometry: dict) -> None:
        self.iod = geometry["iod"]
        self.down = geometry["down"].astype(np.float32)
        h, w = image.shape[:2]
        pts = lm[:, :2].astype(np.float32)
        # Colours from the portrait: lips (ring between outer and inner contours), skin.
        outer = poly_mask((h, w), pts[F.LIPS_UPPER_OUTER + F.LIPS_LOWER_OUTER[::-1]])
        inner = poly_mask((h, w), pts[_INNER])
        ring = (outer > 128) & (inner < 128)
        lip = image[ring].mean(0) if ring.sum() > 10 else np.array([170.0, 90, 90])
        skin_mask = poly_mask((h, w), pts[F.FACE_OVAL]) > 128
        skin = np.median(image[skin_mask], axis=0) if skin_mask.sum() > 100 else lip
        # Teeth take the colour of the portrait's own whites, the sclera: it has the
        # picture's lighting, white balance and palette (a varnished painting's whites
        # are ochre, a cartoon's are flat), so the teeth never glow pure white or blue.
        sclera = _sclera_colour(image, pts)
        light = float(np.clip((skin @ LUMA) / 175.0, 0.45, 1.0))
        white = np.array([232.0, 226, 212]) * light
        # Eyes with no whites to see (a tree creature, dark cartoon eyes, a squint) say
        # nothing about the teeth: their colour would hide the open mouth.
        if sclera is not None and float(sclera @ LUMA) > 0.9 * float(skin @ LUMA):
            white = sclera
        # Half of the skin's own hue (its colour per unit of brightness, geometrically mixed):
        # the picture's light falls on the teeth too, so in a warm, saturated photo they are
        # cream, never the grey-blue that plain white looks beside orange skin.
        luma = float(white @ LUMA)
        hue = np.sqrt(
            np.maximum(white / max(luma, 1.0), 1e-3) * np.maximum(skin / max(float(skin @ LUMA), 1.0), 1e-3)
        )
        self.teeth = (luma * hue / max(float(hue @ LUMA), 1e-3)).clip(0, 255).astype(np.float32)
        self.cavity = (lip * 0.4 + np.array([16.0, 3, 3])).astype(np.float32)
        self.tongue = (lip * 0.75 + np.array([20.0, -8, -8])).clip(0, 255).astype(np.float32)
        self.soft = max(0.4, self.iod / 160)  # blur that matches the portrait's scale

        # The portrait's own mouth interior, if it shows one, split at its midline.
        self.own = None
        gap = float(np.median((pts[_MID_LO] - pts[_MID_UP]) @ self.down))
        if gap > 0.035 * self.iod:
            poly = pts[_INNER]
            x0, y0, x1, y1 = box_around(poly, (h, w))
            off = np.array([x0, y0], np.float32)
            mask = poly_mask((y1 - y0, x1 - x0), poly - off).astype(np.float32) / 255
            mid = lip_midline(pts, np.arange(x0, x1, dtype=np.float32)) - y0  # (W,) box rows
            ys = np.arange(y1 - y0, dtype=np.float32)[:, None]
            upper = (ys < mid[None]).astype(np.float32)  # a hard split: at rest the halves tile exactly
            patch = image[y0:y1, x0:x1].astype(np.float32)
            self.own = (np.dstack([patch, mask * upper]), np.dstack([patch, mask * (1 - upper)]), off)
            self.anchors = (pts[_SKULL], pts[F.CHIN])  # the teeth rows ride on the skull and the jaw
            # Teeth drawn on this face (when its own smile is taken away) take its own teeth's
            # colour: the brightest quarter of what its open mouth shows, where that is teeth
            # (brighter than the skin and nearly colourless). The astronaut's drawn teeth were a
            # pinkish grey (211, 182, 163) from the whites of her eyes beside her own ivory teeth
            # (245, 232, 218).
            inside = patch[mask > 0.5]
            if len(inside) >= 16:
                luma_in = inside @ LUMA
                bright = np.median(inside[luma_in >= np.percentile(luma_in, 75)], axis=0)
                luma_b = float(bright @ LUMA)
                chroma = float(bright.max() - bright.min()) / max(luma_b, 1.0)  # a tongue's pink is ~0.5
                if luma_b > max(float(skin @ LUMA), 150.0) and chroma < 0.3:
                    self.teeth = bright.astype(np.float32)

    def _tooth_pattern(self, xs: np.ndarray, cx: float, width: float) -> tuple[np.ndarray, np.ndarray]:
        """Across the mouth (columns ``xs``): the teeth's shade (soft gaps between teeth,
        darker towards the back) and their visibility (the corners show the cavity), each (1, W, 1).

        Teeth look narrower away from the middle (incisors, then canines, turning away),
        so the tooth number at a distance ``x`` (in incisor widths) is ``t = x / (1 + 0.12 x)``:
        a gap wherever ``t`` is a whole number.
        """
        half = max(width / 2, 1.0)
        d = np.abs(xs - cx) / half  # 0 at the middle, 1 at the corners
        incisor = 0.085 * self.iod  # a central incisor's width in pixels
        tooth = np.abs(xs - cx) / max(incisor, 1.0)
        t = tooth / (1 + 0.12 * tooth)  # teeth further back look narrower
        gaps = np.cos(np.pi * t) ** 2  # 1 at a gap between two teeth (t integer)
        shade = (1 - 0.08 * gaps**4) * (1 - 0.3 * d**2)
        visible = np.clip((0.95 - d) / 0.25, 0, 1)  # the last quarter fades into the cavity
        return shade[None, :, None].astype(np.float32), visible[None, :, None].astype(np.float32)

    def opening(self, pts: np.ndarray) -> float:
        """Height of the gap between the inner lips, pixels (0 when closed)."""
        return float(max(np.median((pts[_MID_LO] - pts[_MID_UP]) @ self.down), 0.0))

    # Below this opening (iod) a portrait's own open mouth, closed by the warp, gets a lip seam.
    SEAM_BELOW = 0.02

    def _seam(self, frame: np.ndarray, pts: np.ndarray, height: float) -> None:
        """Where the warp closes a portrait's own open mouth, the lips meet over a seam.

        The warp squeezes the portrait's own teeth between the closing lips into a pale line
        a grid cell wide (the astronaut's closed mouth showed a white bar of teeth, which reads
        as a smile): the band is filled from the lip pixels just above and below it, with a dark
        line where they meet, fading out towards the corners and as the lips part."""
        ux = np.sort(pts[F.LIPS_UPPER_INNER, 0])  # (11,) the upper inner lip's columns, corners included
        line = np.stack([ux, lip_midline(pts, ux)], 1)  # (11, 2) where the lips meet
        x0, y0, x1, y1 = box_around(line, frame.shape[:2], margin=int(np.ceil(0.06 * self.iod)) + 2)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        off = np.array([x0, y0], np.float32)
        shape = (y1 - y0, x1 - x0)
        band_w = max(2.0, 0.08 * self.iod)  # covers the squeezed teeth and their dark rims
        seam = np.zeros(shape, np.uint8)
        p = np.round((line - off) * (1 << SUB_BITS)).astype(np.int32)
        cv2.polylines(seam, [p], False, 255, max(1, round(float(0.012 * self.iod))), cv2.LINE_AA, SUB_BITS)
        # The band takes the lips' own pixels from just beyond it: the upper lip above the
        # seam, the lower lip below it (a vertical fill, column by column).
        xs = np.arange(shape[1], dtype=np.float32)
        yc = np.interp(xs + x0, line[:, 0], line[:, 1]).astype(np.float32) - y0  # (W,) seam row
        ys = np.arange(shape[0], dtype=np.float32)[:, None]
        above = ys < yc[None]
        map_y = np.where(above, yc[None] - band_w / 2 - 1, yc[None] + band_w / 2 + 1).astype(np.float32)
        map_x = np.broadcast_to(xs[None], shape).astype(np.float32)
        roi8 = np.ascontiguousarray(frame[y0:y1, x0:x1])
        fill = cv2.remap(roi8, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(
            np.float32
        )
        band = np.clip((band_w / 2 + 0.5 - np.abs(ys - yc[None])), 0.0, 1.0)  # (h, w) 1 inside the band
        # Fade towards the corners (the lips' own corners stay) and as the lips part.
        half = max((line[-1, 0] - line[0, 0]) / 2, 1.0)
        along = np.clip((1.0 - np.abs(xs + x0 - (line[0, 0] + line[-1, 0]) / 2) / half) / 0.15, 0, 1)[None, :]
        fade = float(np.clip(1.0 - height / (self.SEAM_BELOW * self.iod), 0.0, 1.0))
        a_band = (cv2.GaussianBlur(band.astype(np.float32), (0, 0), self.soft) * along * fade)[..., None]
        a_seam = cv2.GaussianBlur(seam, (0, 0), self.soft * 0.7).astype(np.float32) / 255 * along * fade
        roi = roi8.astype(np.float32) * (1 - a_band) + fill * a_band
        roi = roi * (1 - 0.85 * a_seam[..., None]) + self.cavity * (0.85 * a_seam[..., None])
        frame[y0:y1, x0:x1] = roi.clip(0, 255).astype(np.uint8)

    def paint(
        self, frame: np.ndarray, pts: np.ndarray, own_teeth: bool = True, rounding: float = 0.0
    ) -> None:
        """Paint the mouth interior into ``frame`` (S, S, 3 uint8) in place.

        ``pts`` are the displaced landmarks (478, 2) of this frame. ``own_teeth`` False
        draws teeth even on a portrait that shows its own (they were seen in a smile, and
        a wide row of smiling teeth reads as a smile whatever the face does). ``rounding``
        (0..1, the lips' funnel and pucker) hides drawn teeth: rounded lips cover them, and
        bared teeth in an "oh" read as a grin or a snarl. A portrait's own open mouth that this
        frame closes gets a lip seam over its squeezed teeth (``_seam``).
        """
        pts = pts.astype(np.float32)
        height = self.opening(pts)
        if self.own is not None and height < self.SEAM_BELOW * self.iod:
            self._seam(frame, pts, height)
        if height < 0.75:
            return
        poly = pts[_INNER]
        x0, y0, x1, y1 = box_around(poly, frame.shape[:2])
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        off = np.array([x0, y0], np.float32)
        shape = (y1 - y0, x1 - x0)
        mouth = poly_mask(shape, poly - off).astype(np.float32) / 255.0
        up = pts[F.LIPS_UPPER_INNER] - off  # (11, 2) left -> right
        lo = pts[_LO_CURVE] - off
        width = float(np.linalg.norm(up[-1] - up[0]))
        cx = (up[0, 0] + up[-1, 0]) / 2
        xs = np.arange(shape[1], dtype=np.float32)

        # 1. Cavity, darker towards the back (the middle of the opening).
        interior = np.empty((*shape, 3), np.float32)
        interior[:] = self.cavity
        depth = cv2.GaussianBlur(mouth, (0, 0), max(height * 0.3, 1.0))
        interior *= (1.15 - 0.35 * depth)[..., None]

        # 2. Tongue: a low mound at the back of a wide-open mouth.
        if height > 0.12 * self.iod:
            tongue = np.zeros(shape, np.uint8)
            c = lo[len(lo) // 2] - self.down * (0.2 * height)
            axes = (int(max(width * 0.3, 1)), int(max(height * 0.3, 1)))
            cv2.ellipse(tongue, tuple(np.round(c).astype(int)), axes, 0, 180, 360, 255, -1, cv2.LINE_AA)
            a = cv2.GaussianBlur(tongue, (0, 0), 1.0 + self.soft).astype(np.float32)[..., None] / 255
            shade = np.clip(
                0.75 + 0.5 * (np.arange(shape[0])[:, None, None] - c[1]) / max(height, 1), 0.7, 1.1
            )
            interior = interior * (1 - a) + self.tongue * shade * a

        if self.own is not None and own_teeth:
            # 3a. The portrait's own teeth: upper half with the upper lip, lower half with the jaw.
            # The upper teeth sit on the skull (they follow the base of the nose,
            # which no expression moves); the lower ones follow the jaw (the chin),
            # and only downwards relative to the upper row, so a smile, a sneer or a
            # head turn moves both rows together while the lips move over them.
            upper_rgba, lower_rgba, src_off = self.own
            d_up = pts[_SKULL] - self.anchors[0]
            drop = max(float((pts[F.CHIN] - self.anchors[1] - d_up) @ self.down), 0.0)
            for rgba, d in ((upper_rgba, d_up), (lower_rgba, d_up + drop * self.down)):
                d = src_off + d - off
                m = np.float32([[1, 0, d[0]], [0, 1, d[1]]])
                moved = cv2.warpAffine(rgba, m, (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderValue=0)
                a = moved[..., 3:]
                interior = interior * (1 - a) + moved[..., :3] * a
        else:
            # 3b. Drawn teeth: lower ones only for wide openings, then the upper
            #     row hanging from the upper lip, lit from the front.
            # A lips-apart sliver shows a dark line, not a white one: the teeth fade
            # in as the opening grows.
            show = float(np.clip((height - 0.03 * self.iod) / (0.04 * self.iod), 0, 1))
            cover = float(np.clip(rounding, 0.0, 1.0))
            show *= 1.0 - 0.7 * cover
            teeth_x = self._tooth_pattern(xs, cx, width)  # (1, W, 1): gaps between teeth, dark corners

            def band(edge: np.ndarray, thickness: float, color: np.ndarray, sign: float) -> None:
                nonlocal interior
                poly_t = np.concatenate([edge, (edge + sign * self.down * thickness)[::-1]])
                m = cv2.GaussianBlur(poly_mask(shape, poly_t), (0, 0), self.soft).astype(np.float32)
                m = m[..., None] * (show / 255) * teeth_x[1]
                yy = np.arange(shape[0], dtype=np.float32)[:, None, None]
                rel = np.clip((yy - edge[:, 1].mean()) * sign / max(thickness, 1), 0, 1)
                lit = 0.86 + 0.14 * rel  # a little darker by the gum, lighter at the biting edge
                interior = interior * (1 - m) + (color * teeth_x[0] * lit) * m

            if height > 0.14 * self.iod:  # the lower row's edges, under the tongue's shadow
                band(lo[3:-3], min(0.05 * self.iod, 0.25 * height), self.teeth * 0.78, -1.0)
            band(up[1:-1], min(0.1 * self.iod, 0.5 * height) * (1.0 - 0.6 * cover), self.teeth, +1.0)

        # 4. The lips shade the opening's rim (light reaches the inside only through
        #    the middle), then composite inside the inner-lip polygon, feathered so
        #    the lip's edge is a soft shadow, not a drawn line.
        interior = cv2.GaussianBlur(interior, (0, 0), self.soft * 0.6)
        rim = cv2.GaussianBlur(mouth, (0, 0), max(0.015 * self.iod, 0.8))
        interior *= (0.55 + 0.45 * np.clip(2 * rim - 0.6, 0, 1) ** 0.5)[..., None]
        a = cv2.GaussianBlur(mouth, (0, 0), max(0.35 * self.soft, 0.5))[..., None]
        roi = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = (roi * (1 - a) + interior * a).clip(0, 255).astype(np.uint8)
