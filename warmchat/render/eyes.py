"""Eyelids that close: skin and lashes painted over the eye during a blink.

The warp slides the upper lid down (the blink channels move its landmarks onto
the lower lid), but it can only move the portrait's pixels: the eye's own
pixels are squeezed into a slit, the iris shows through as a dark smear, and
a viewer (or a face tracker) still sees an open eye. So where the lid has
travelled we paint it: in each frame, the band between where the upper lid
would be with the eye open and where it is now is covered with the skin around
the eye (once per portrait, the eye opening and the lashes above it are
inpainted away; the frame's own warp map carries that skin over the eye),
shaded darker towards the lid's edge, and that edge gets a soft line of lashes.
With the blink fully shut the band is the whole eye. Per frame it costs two
small windows (about a millisecond when both eyes blink); an eye that could not
be inpainted (a tiny face, an eye cut off by the picture's edge) gets a flat
lid colour sampled between the lid line and the crease above it instead.
"""

from __future__ import annotations

import cv2
import numpy as np

from warmchat.render import face as F
from warmchat.render.mouth import LUMA, SUB_BITS, box_around, poly_mask

LASH_LIFT = 0.04  # iod: how far above the open lid line a shut lid covers at least (lashes, liner)
# iod: ... and at most (heavy liner and winged lashes reach 0.14 on lp_d6: left uncovered, their arc
# above a shut lid draws the top of an open eye; further up is the crease and the brow)
LASH_LIFT_MAX = 0.14
LASH_THICK = 0.018  # iod: width of the lash line drawn along a closing lid's edge
LASH_ALPHA = 0.85  # its opacity at full blink (at 0.65 a tracker found lp_d6's shut eyes 0.32 open)
LID_FLOOR = 0.9  # a shut lid's skin is no darker than this share of the lid skin's brightness
EDGE_DARK = 0.12  # the lid's skin darkens by this much towards its edge (it curves away from the light)


def _eye_outline(upper: np.ndarray, lower: np.ndarray, corners: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Closed polygon corner -> upper lid -> corner -> lower lid."""
    return np.concatenate([corners[0][None], upper, corners[1][None], lower[::-1]])


class EyelidPainter:
    """Paints the closing upper lids of one portrait into rendered frames."""

    # (upper lid, lower lid, the skin rings above the lid, corners (outer, inner), blink channel)
    EYES = (
        (F.EYE_R_UPPER, F.EYE_R_LOWER, F.EYE_R_ABOVE, F.EYE_R_CORNERS, "eyeBlinkRight"),
        (F.EYE_L_UPPER, F.EYE_L_LOWER, F.EYE_L_ABOVE, F.EYE_L_CORNERS, "eyeBlinkLeft"),
    )

    def __init__(self, image: np.ndarray, lm: np.ndarray, geometry: dict) -> None:
        h, w = image.shape[:2]
        pts = lm[:, :2].astype(np.float32)
        self.iod = float(geometry["iod"])
        self.lid: list[np.ndarray] = []  # per eye: the lid skin's colour (3,) float32
        self.lash: list[np.ndarray] = []  # per eye: the darkest colour of the lid line (3,)
        for upper, _lower, above, _corners, _ch in self.EYES:
            # The lid skin between the two rings above the lid line: the band right at the lid
            # can take in the white of a wide-open eye (a grey-white lid) or the lashes.
            band = poly_mask((h, w), np.concatenate([pts[above[0]], pts[above[1]][::-1]])) > 128
            skin = image[band].astype(np.float32)
            if len(skin) < 8:  # a tiny face: take the skin around the eye instead
                skin = image[poly_mask((h, w), pts[F.FACE_OVAL]) > 128].astype(np.float32)
            luma = skin @ LUMA
            # The lid skin: its middle tones (the crease and lashes are darker, a highlight lighter).
            mid = (luma >= np.percentile(luma, 40)) & (luma <= np.percentile(luma, 90))
            self.lid.append(np.median(skin[mid] if mid.sum() >= 4 else skin, axis=0))
            # The lashes: the darkest of the lid line itself.
            lid_line = poly_mask((h, w), np.concatenate([pts[upper], pts[above[0]][::-1]])) > 128
            dark = image[lid_line].astype(np.float32) if lid_line.sum() >= 8 else skin
            self.lash.append(np.percentile(dark, 5, axis=0).astype(np.float32) * 0.6)
        self.soft = max(0.5, self.iod / 140)  # edge blur that matches the portrait's scale
        self.down = np.asarray(geometry["down"], np.float32)  # the face's down axis (2,)
        # Per eye: how far above the open lid line a shut lid covers (px): past the lashes and
        # liner, however heavy this portrait's are.
        self.lift = [
            self._dark_above(image, pts[upper], self.lid[k]) for k, (upper, *_r) in enumerate(self.EYES)
        ]
        self.skin, self.skin_ok = self._lid_texture(image, pts)

    def _dark_above(self, image: np.ndarray, lid_line: np.ndarray, lid: np.ndarray) -> float:
        """Pixels from the open lid line up to where the skin is lid-coloured again (lashes and
        liner sit in between), the median over the lid's middle points, at least ``LASH_LIFT``
        and at most ``LASH_LIFT_MAX`` of the iod."""
        gray = (image.astype(np.float32) @ LUMA).astype(np.float32)
        steps = np.arange(0.0, LASH_LIFT_MAX * self.iod, 0.5, dtype=np.float32)  # (S,)
        mid = lid_line[2:-2] if len(lid_line) > 4 else lid_line  # (P, 2)
        xy = mid[:, None, :] - self.down[None, None, :] * steps[None, :, None]  # (P, S, 2)
        luma = cv2.remap(gray, xy[..., 0], xy[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        light = luma >= LID_FLOOR * float(lid @ LUMA)  # (P, S): back on the lid's skin
        # The first step from which the rest of the way is skin (a stray light pixel in the
        # lashes does not end them).
        back = np.flip(np.cumprod(np.flip(light, 1), 1), 1).astype(bool)
        first = np.where(back.any(1), back.argmax(1), len(steps) - 1)
        dist = float(np.median(steps[first])) + 0.01 * self.iod
        return float(np.clip(dist, LASH_LIFT * self.iod, LASH_LIFT_MAX * self.iod))

    def _lid_texture(self, image: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray | None, list[bool]]:
        """(H, W, 3) uint8: the portrait with each eye opening and its lashes filled in from the skin
        around it (Telea inpainting, then smoothed), or None when the eyes are too small to matter;
        and per eye whether it was filled (an eye at or past the picture's edge is not).

        A shut lid is the skin around the eye carried over it: sampled through the frame's own
        warp map it has the portrait's colours and shading and meets the skin around it without
        an edge. (A flat lid colour drew a lighter, outlined patch: the lid of a painted eye, and
        a tracker read its rim as an open eye.)
        """
        filled = [False] * len(self.EYES)
        if self.iod < 12:
            return None, filled
        h, w = image.shape[:2]
        out = image.copy()
        radius = max(2.0, 0.06 * self.iod)
        for k, (upper, lower, _above, corners, _ch) in enumerate(self.EYES):
            # The opening, grown upwards over the lashes and liner that sit above the lid line.
            lift = pts[upper] - self.down[None] * (1.5 * self.lift[k])
            outline = _eye_outline(lift, pts[lower], (pts[corners[0]], pts[corners[1]]))
            x0, y0, x1, y1 = box_around(outline, (h, w), int(0.2 * self.iod) + 4)
            if x1 - x0 < 4 or y1 - y0 < 4:
                continue  # the eye is (nearly) off the picture
            hole = poly_mask((y1 - y0, x1 - x0), outline - np.float32([x0, y0]))
            hole = cv2.dilate((hole > 64).astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
            if not hole.any() or hole.mean() > 0.8 * 255:
                continue  # nothing to fill, or no skin around it to fill from
            patch = cv2.inpaint(np.ascontiguousarray(image[y0:y1, x0:x1]), hole, radius, cv2.INPAINT_TELEA)
            # Inpainting leaves streaks; blurred inside the hole the fill reads as smooth skin.
            smooth = cv2.GaussianBlur(patch, (0, 0), max(1.0, 0.02 * self.iod)).astype(np.float32)
            m = (cv2.GaussianBlur(hole, (0, 0), 1.5).astype(np.float32) / 255)[..., None]
            fill = patch * (1 - m) + smooth * m
            # The fill is drawn from what rings the eye, and heavy liner, lashes or a painted
            # socket's shadow make it a dark patch where a shut lid is: a tracker (and a viewer)
            # reads that as the eye still open. No darker than the lid skin, then (hue kept).
            floor = LID_FLOOR * float(self.lid[k] @ LUMA)
            gain = np.clip(floor / np.maximum(fill @ LUMA, 1.0), 1.0, 2.0)[..., None]
            out[y0:y1, x0:x1] = (fill * (1 + (gain - 1) * m)).clip(0, 255).astype(np.uint8)
            filled[k] = True
        return (out if any(filled) else None), filled

    def paint(
        self,
        frame: np.ndarray,
        pts: np.ndarray,
        pts_open: np.ndarray,
        blink: dict[str, float],
        sample_map: np.ndarray | None = None,
    ) -> None:
        """Cover what each upper lid has travelled in ``frame`` (S, S, 3 uint8) in place.

        ``pts`` are this frame's landmarks (478, 2), ``pts_open`` the same frame's
        landmarks with the eyes open, ``blink`` the blink weight per channel,
        ``sample_map`` (S, S, 2) the frame's warp (where each pixel comes from in the
        portrait): with it the lid is the portrait's own skin, carried the same way.
        """
        for k, (upper, lower, _above, corners, ch) in enumerate(self.EYES):
            b = float(blink.get(ch, 0.0))
            if b < 0.15:
                continue  # a lid that hardly moves: the warp alone shows it well
            lid_now = pts[upper].astype(np.float32)
            # Near shut, the lid reaches the lower lid: the last slit of the eye's own
            # (squeezed) pixels would otherwise read as an eye still a little open.
            lid_now = lid_now + (pts[lower].astype(np.float32) - lid_now) * float(
                np.clip((b - 0.7) / 0.3, 0, 1)
            )
            lid_open = pts_open[upper].astype(np.float32)
            # Near shut, the band starts a little above the open lid line: the portrait's own
            # upper lashes and eyeliner sit on that line, and left there they draw the top of
            # an open eye over the closed lid (a tracker, like a viewer, reads it as open).
            lift = float(np.clip((b - 0.5) / 0.5, 0, 1)) * self.lift[k]
            taper = np.sqrt(np.sin(np.linspace(0, np.pi, len(upper), dtype=np.float32)).clip(0, 1))[:, None]
            lid_open = lid_open - self.down[None] * (lift * taper)
            cs = (pts[corners[0]].astype(np.float32), pts[corners[1]].astype(np.float32))
            outline = _eye_outline(lid_open, pts[lower].astype(np.float32), cs)
            x0, y0, x1, y1 = box_around(outline, frame.shape[:2], 3)
            if x1 - x0 < 3 or y1 - y0 < 3:
                continue
            off = np.float32([x0, y0])
            shape = (y1 - y0, x1 - x0)
            # 1. The band the lid covers: open lid line -> this frame's lid line, inside the eye.
            # (grown by a pixel or so, so the corners of the eye are covered too)
            eye = (
                cv2.dilate(poly_mask(shape, outline - off), np.ones((3, 3), np.uint8)).astype(np.float32)
                / 255
            )
            # Near shut, the band reaches a little below the lid's edge: the warp cannot squeeze
            # the eye's own pixels (iris, lashes, eyeliner) thinner than a few pixels, and that
            # dark seam would read as a slit of open eye and as a drawn band.
            shut = float(np.clip((b - 0.7) / 0.3, 0, 1))
            seam = lid_now + self.down * (shut * max(0.035 * self.iod, 2.0))
            band = poly_mask(shape, np.concatenate([cs[0][None], lid_open, cs[1][None], seam[::-1]]) - off)
            eye = np.maximum(eye, shut * poly_mask(shape, np.concatenate([lid_now, seam[::-1]]) - off) / 255)
            cover = np.minimum(eye, band.astype(np.float32) / 255)
            cover = cv2.GaussianBlur(cover, (0, 0), self.soft)
            # 2. Lid skin, darker towards its edge (it curves away from the light there).
            top = float(lid_open[:, 1].mean()) - y0
            bottom = float(lid_now[:, 1].mean()) - y0
            yy = np.arange(shape[0], dtype=np.float32)[:, None]
            depth = np.clip((yy - top) / max(bottom - top, 1.0), 0, 1)[
                ..., None
            ]  # 0 at the top, 1 at the edge
            roi = frame[y0:y1, x0:x1].astype(np.float32)
            if self.skin is not None and self.skin_ok[k] and sample_map is not None:
                # The skin around the eye, carried by the frame's own warp (texture included).
                tex = cv2.remap(self.skin, sample_map[y0:y1, x0:x1], None, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE).astype(np.float32)  # fmt: skip
                skin, detail = tex * (1.0 - EDGE_DARK * depth), 0.0
            else:
                skin = self.lid[k] * (1.0 - 0.18 * depth)
                # Keep a little of the warped texture (pores, make-up) under the colour (less as
                # it shuts: then the warped texture there is the squeezed eye, lashes and all).
                luma = roi @ LUMA
                detail = (luma - cv2.GaussianBlur(luma, (0, 0), 2.0))[..., None] * (0.8 - 0.8 * shut)
            # Feather the top: where the lid meets the skin above, no edge may show (a
            # tracker, like a viewer, would take it for the lid line of an open eye).
            # Shut, the feather is short: what it would let through is the portrait's own lashes.
            # Over the lashes and liner above the open lid line, the lid blends in all the way:
            # a patch with an edge there draws the top of an open eye again.
            flen = max(0.35 - 0.2 * shut, min(0.6, lift / max(bottom - top, 1.0)))
            feather = np.clip(depth[..., 0] / flen, 0, 1) ** 0.7
            a = (cover * feather * min(1.0, (b - 0.15) / 0.45))[..., None]
            out = roi * (1 - a) + (skin + detail) * a
            # 3. Lashes along the lid's edge, as it comes down.
            if b > 0.4:
                lash = np.zeros(shape, np.uint8)
                line = np.round((lid_now - off) * (1 << SUB_BITS)).astype(np.int32)
                thick = max(1, round(self.iod * LASH_THICK))
                cv2.polylines(lash, [line], False, 255, thick, cv2.LINE_AA, SUB_BITS)
                la = cv2.GaussianBlur(lash, (0, 0), self.soft * 0.7).astype(np.float32)[..., None] / 255
                la *= LASH_ALPHA * min(1.0, (b - 0.4) / 0.4)
                out = out * (1 - la) + self.lash[k] * la
            frame[y0:y1, x0:x1] = out.clip(0, 255).astype(np.uint8)
