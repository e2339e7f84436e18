"""The CPU mesh-warp renderer: portrait + expression + head pose -> frame.

Per portrait (once):
  * control points: the 478 landmarks, a ring around the head (hair) that moves
    rigidly with it (two where it grows out to the hair's silhouette), a ring
    further out and the frame border that stay still;
  * a Delaunay triangulation of the control points and, for every node of a
    coarse G x G grid, its barycentric weights (a sparse G^2 x N matrix);
  * the expression basis (K x 478 x 2) and the mouth painter.
Per frame:
  1. landmarks <- expression (basis . weights), then 3-D head rotation with the
     mesh depth, scale and translation; the hair ring follows rigidly;
  2. forward displacement on the grid = W @ control-point displacements;
  3. invert it (Newton iterations on the coarse grid) to get, for every output
     grid node, where to sample the portrait;
  4. upsample the map to S x S and apply it with one cv2.remap;
  5. paint the mouth interior where the lips have parted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse
from scipy.spatial import Delaunay

from warmchat.motion.presets import PRESET_MATRIX
from warmchat.motion.tracks import CH
from warmchat.render import face as F
from warmchat.render.background import BackgroundPlate
from warmchat.render.basis import build_basis
from warmchat.render.eyes import EyelidPainter
from warmchat.render.mouth import MouthPainter
from warmchat.render.rest import RestExpression, estimate_rest
from warmchat.render.shading import ExpressionShader


@dataclass
class WarpConfig:
    """Settings of the mesh-warp renderer."""

    grid: int = 128  # side of the coarse displacement grid (the map is upsampled to the crop)
    # Iterations to invert the forward warp on the grid. Not fewer, and not a coarser grid, though
    # each would save 0.3-0.9 ms: lips then part less than asked where the map folds (re-traced
    # on Groot, mouth opening vs jaw r 0.62 with 3 iterations, 0.85+ with 4 (0.89 with the tail
    # below; MediaPipe's tracking of Groot moves by that much for frames a few grey levels apart);
    # the astronaut's smile, neutralised, stays 0.048 open on a 96 grid, 0.010 on 128).
    newton_iters: int = 4
    newton_full_iters: int = 2  # of those, steps on every node; the rest only where still off by ...
    newton_tol: float = 0.02  # ... more than this, pixels
    head_ring: float = 1.5  # hair ring radius / face-oval radius: moves rigidly with the head
    head_ring_top: float = 1.85  # the ring reaches further up, over the hair
    outer_ring: float = 2.4  # beyond this radius the background stays still
    hair_ring: bool = True  # grow the head ring past the hair's silhouette (needs the background plate)
    hair_ring_max: float = 2.6  # the head ring grows up to this to take in all the hair (with the plate)
    hair_margin: float = 0.1  # ... reaching this far past the hair's silhouette
    neck_follow: float = 0.45  # how much the ring under the chin (the neck) follows the head
    border_step: int = 32  # spacing of the fixed control points on the frame border, pixels
    mouth_interior: bool = True  # paint cavity, teeth and tongue where the lips part
    eyelids: bool = True  # paint lid skin and lashes over the eye as it blinks (eyes.py)
    background_plate: bool = True  # what a moving head uncovers is background, not a copy (background.py)
    neutralize: bool = True  # take the portrait's own smile, raised brows, parted lips away (rest.py)
    shading: bool = True  # draw the folds and furrows an expression makes (shading.py)


_BLINKS = ("eyeBlinkLeft", "eyeBlinkRight")


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(3, 3) rotation for angles in degrees; x right, y down, z away from the camera.

    Positive yaw turns the face to the viewer's right, positive pitch lowers the
    chin, positive roll tilts the head clockwise in the image.
    """
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _fold_free_depth(lm: np.ndarray, geometry: dict) -> np.ndarray:
    """(478, 3) landmarks whose depth is smooth enough that a head turn cannot fold the mesh.

    MediaPipe's depth is steep at the face's silhouette: rotating it as is makes
    cheek points overtake the face edge (a fold, which a 2-D warp cannot show).
    We keep a quadratic fit of the depth over the face (the head's roundness) plus
    part of the residual (the nose, the brow ridge): slopes stay bounded, so turns
    up to about +-25 degrees warp without folds.
    """
    u = (lm[:, 0] - geometry["center"][0]) / geometry["width"]
    v = (lm[:, 1] - geometry["center"][1]) / geometry["width"]
    a = np.stack([np.ones_like(u), u, v, u * u, v * v, u * v], 1)
    z = lm[:, 2]
    coef, *_ = np.linalg.lstsq(a[:468], z[:468], rcond=None)
    fit = a @ coef
    out = lm.copy()
    out[:, 2] = fit + 0.5 * np.minimum(z - fit, 0.0)
    return out


def _hair_radius(
    person: np.ndarray, center: np.ndarray, rel: np.ndarray, up_ness: np.ndarray, cfg: WarpConfig
) -> np.ndarray:
    """(N,) head-ring radius per face-oval point (multiples of its distance from the centre) that
    reaches just past the person's silhouette along that ray, for the upper half of the head.

    Where the ray leaves the picture still inside the person (hair cut off by its edge) the
    ring reaches the edge. Below the face (the neck, shoulders), or where the person goes on
    past ``hair_ring_max``, it is 0: the configured ring applies.
    """
    s = person.shape[0]
    out = np.zeros(len(rel))
    steps = np.arange(cfg.head_ring, cfg.hair_ring_max + 1e-6, 0.05)
    for i, (r, up) in enumerate(zip(rel, up_ness)):
        if up < -0.2:
            continue
        pts = center + r * steps[:, None]
        inside = (pts >= 0).all(1) & (pts <= s - 1).all(1)
        n_in = len(steps) if inside.all() else int(np.argmin(inside))  # samples before the ray leaves
        q = np.round(pts[:n_in]).astype(int)
        off = np.nonzero(~person[q[:, 1], q[:, 0]])[0]
        if len(off):
            out[i] = steps[off[0]] + cfg.hair_margin
        elif n_in < len(steps):
            # Hair up to the picture's edge: it all moves with the head (what a dip uncovers
            # above it is the plate), rather than being stretched up to the edge as a cone.
            out[i] = steps[n_in - 1] + cfg.hair_margin if n_in else 0.0
    return out


def _newton_step(
    src: np.ndarray, disp: np.ndarray, jac: np.ndarray, base: np.ndarray, step: float, lim: float
) -> np.ndarray:
    """One Newton step towards x = s + D(s) for the nodes ``base`` (..., 2): ``src`` (..., 2) is
    where each is sampled from now; D (``disp``, (G, G, 2)) and its Jacobian (``jac``, (G, G, 4):
    dDx/dx, dDy/dx, dDx/dy, dDy/dy) are sampled bilinearly on the grid of spacing ``step``."""
    gi = (src / step - 0.5).astype(np.float32)  # grid-index coordinates
    d = cv2.remap(disp, gi, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    j = cv2.remap(jac, gi, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    a, c_, b, d_ = 1 + j[..., 0], j[..., 1], j[..., 2], 1 + j[..., 3]  # [[a, b], [c, d]]
    det = a * d_ - b * c_
    det = np.maximum(det, 0.15)  # where the map folds, step consistently
    res = src + d - base  # how far x = s + D(s) misses each node
    rx, ry = res[..., 0], res[..., 1]
    upd = cv2.merge([(d_ * rx - b * ry) / det, (-c_ * rx + a * ry) / det])
    return src - np.clip(upd, -lim, lim)


class WarpRenderer:
    """Renders one portrait (a ``FaceModel``) under any expression and head pose."""

    def __init__(self, face: F.FaceModel, config: WarpConfig | None = None) -> None:
        self.cfg = cfg = config or WarpConfig()
        self.face = face
        self.image = face.image
        self.size = s = face.size
        g = face.geometry
        lm = face.landmarks.astype(np.float64)
        self.lm = lm
        self.lm3 = _fold_free_depth(lm, g)  # landmarks with the depth used for head turns
        self.basis = build_basis(lm, g).astype(np.float64)  # (K, 478, 2)
        self.pivot = g["pivot"]
        # The portrait's own expression, undone on every frame (zero when it is neutral).
        self.rest: RestExpression | None = estimate_rest(lm, self.basis) if cfg.neutralize else None
        self._full = PRESET_MATRIX.max(0).astype(np.float64)  # (K,) each channel's strongest emotion weight

        # Control points beyond the face: a head ring (hair, ears), an outer ring
        # and the frame border. Ring points extend the face oval outwards.
        oval = lm[F.FACE_OVAL]
        c = g["center"]
        rel = oval[:, :2] - c
        up_ness = np.clip(-(rel @ g["down"]) / np.linalg.norm(rel, axis=1), -1, 1)  # 1 = top
        radius = np.where(
            up_ness > 0, cfg.head_ring + (cfg.head_ring_top - cfg.head_ring) * up_ness, cfg.head_ring
        )
        inner = radius  # the configured ring, kept inside a grown one (below)
        # What the segmenter calls the person moves with the head up to the hair's silhouette:
        # a ring inside the hair would stretch the hair between it and the still outer ring
        # into a cone. Beyond the silhouette only background is stretched, and the plate
        # covers that. The ring keeps its smooth shape (one top radius, blended by up_ness
        # as above): ring points at uneven radii shear the hair between them into spikes.
        self.background = BackgroundPlate(self.image, lm, face.person) if cfg.background_plate else None
        if cfg.hair_ring and self.background is not None and self.background.ok:
            hair = _hair_radius(self.background.mask > 0.5, c, rel, up_ness, cfg)
            top = hair[up_ness > 0.3]
            if len(top) and top.max() > cfg.head_ring_top:
                top_r = max(float(np.percentile(top[top > 0], 80)), cfg.head_ring_top)
                radius = np.where(
                    up_ness > 0, cfg.head_ring + (top_r - cfg.head_ring) * up_ness, cfg.head_ring
                )
        head_ring = c + rel * radius[:, None]
        if self.background is not None:
            self.background.set_head_region(head_ring, (g["eye_r"] + g["eye_l"]) / 2, g["down"])
        # Under the chin the ring is the neck, which follows the head only partly.
        follow = np.where(up_ness < -0.5, cfg.neck_follow, 1.0)
        # Where the ring grew out to the hair's silhouette, the configured ring stays too, moving
        # with it: alone, the grown ring's long triangles from the face oval across the hair bent
        # the hairline into a zigzag of kinks whenever the head nodded (lp_d14, its hair cut by
        # the picture's top edge).
        grew = radius > inner + 0.05
        rings = np.concatenate([head_ring, (c + rel * inner[:, None])[grew]])  # (R, 2)
        of = np.r_[np.arange(len(rel)), np.nonzero(grew)[0]]  # (R,) the oval point each ring point extends
        self.ring_follow = follow[of][:, None]  # (R, 1)
        self.ring_z = self.lm3[F.FACE_OVAL, 2][of]  # (R,) ring points take their oval point's depth
        outer = c + rel * np.maximum(cfg.outer_ring, radius + 0.5)[:, None]
        e = np.arange(0, s + 1, cfg.border_step, dtype=np.float64)
        e[-1] = s - 1
        border = np.concatenate([
            np.stack([e, np.zeros_like(e)], 1), np.stack([e, np.full_like(e, s - 1)], 1),
            np.stack([np.zeros_like(e), e], 1), np.stack([np.full_like(e, s - 1), e], 1),
        ])  # fmt: skip
        # A tight crop puts the head ring outside the frame: frame-border points
        # inside the ring would pin the chin or the crown to the edge, so they go.
        ring_poly = head_ring.astype(np.float32).reshape(-1, 1, 2)
        border = np.array(
            [p for p in border if cv2.pointPolygonTest(ring_poly, (float(p[0]), float(p[1])), False) < 0]
        )
        far = (-0.25 * s, 1.25 * s)  # points outside the frame so the hull covers it
        border = np.concatenate(
            [border, [[far[0], far[0]], [far[1], far[0]], [far[0], far[1]], [far[1], far[1]]]]
        )
        self.n_face = lm.shape[0]
        self.n_ring = len(rings)
        ctrl = np.concatenate([lm[:, :2], rings, outer, border])
        self.ctrl = ctrl  # (N, 2)

        # Grid nodes sit at pixel centres of a G x G image, so cv2.resize maps
        # the grid onto the S x S frame exactly.
        n = cfg.grid
        self.gx = (np.arange(n) + 0.5) * s / n - 0.5
        gxx, gyy = np.meshgrid(self.gx, self.gx)
        pts = np.stack([gxx.ravel(), gyy.ravel()], 1)
        tri = Delaunay(ctrl)
        simplex = tri.find_simplex(pts)
        simplex = np.where(simplex < 0, 0, simplex)  # cannot happen: the far corners cover all
        t = tri.transform[simplex]  # (G2, 3, 2)
        bary2 = np.einsum("nij,nj->ni", t[:, :2], pts - t[:, 2])
        bary = np.concatenate([bary2, 1 - bary2.sum(1, keepdims=True)], 1)  # (G2, 3)
        rows = np.repeat(np.arange(len(pts)), 3)
        self.W = sparse.csr_matrix(
            (bary.ravel(), (rows, tri.simplices[simplex].ravel())), shape=(len(pts), len(ctrl))
        )
        self.base = np.stack([gxx, gyy], -1).astype(np.float32)  # (G, G, 2) output grid, pixels
        px = np.arange(s, dtype=np.float32)
        self.full_base = np.stack(np.meshgrid(px, px), -1)  # (S, S, 2) identity map
        self.mouth = MouthPainter(self.image, lm, g) if cfg.mouth_interior else None
        self.eyelids = EyelidPainter(self.image, lm, g) if cfg.eyelids else None
        self.shader = ExpressionShader(self.image, lm, g) if cfg.shading else None

    # ------------------------------------------------------------------ geometry
    def landmarks(self, expression: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """(478, 2) landmark positions for an expression (K,) and pose (6,)."""
        return self._control_points(np.asarray(expression, np.float64), np.asarray(pose, np.float64))[
            : self.n_face
        ]

    def _control_points(self, expression: np.ndarray, pose: np.ndarray) -> np.ndarray:
        yaw, pitch, roll, tx, ty, scale = pose
        r = rotation_matrix(yaw, pitch, roll) * scale
        t = np.array([tx, ty, 0.0])
        piv = self.pivot
        # 1. Expression on the face, in the portrait's frame, relative to a neutral face.
        if self.rest is not None:
            expression = self.rest.apply(expression, self._full)
        face = self.lm3.copy()
        face[:, :2] += np.tensordot(expression, self.basis, axes=1)
        # 2. Rigid 3-D head motion of the face and the hair ring (ring points take
        #    the depth of the oval point they extend).
        face_t = (face - piv) @ r.T + piv + t
        ring = np.concatenate([self.ctrl[self.n_face : self.n_face + self.n_ring], self.ring_z[:, None]], 1)
        ring_t = (ring - piv) @ r.T + piv + t
        ring_xy = ring[:, :2] + self.ring_follow * (ring_t[:, :2] - ring[:, :2])
        out = self.ctrl.copy()
        out[: self.n_face] = face_t[:, :2]
        out[self.n_face : self.n_face + self.n_ring] = ring_xy
        return out

    def sample_map(self, expression: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Backward map (S, S, 2) float32 for cv2.remap, and the frame's landmarks (478, 2)."""
        cfg, s, n = self.cfg, self.size, self.cfg.grid
        moved = self._control_points(np.asarray(expression, np.float64), np.asarray(pose, np.float64))
        disp = (self.W @ (moved - self.ctrl)).reshape(n, n, 2).astype(np.float32)  # forward, at source grid
        # Invert x = s + D(s) for every output grid node x with Newton's method;
        # D and its Jacobian are sampled bilinearly on the grid.
        step = s / n
        grad_x = np.gradient(disp, step, axis=1)  # dD/dx  (G, G, 2)
        grad_y = np.gradient(disp, step, axis=0)  # dD/dy
        # (G, G, 4): dDx/dx, dDy/dx, dDx/dy, dDy/dy. cv2.merge, not np.concatenate(axis=-1) and not
        # np.stack(axis=-1) below: numpy interleaves short last axes ~10x slower (0.15 ms a call).
        jac = cv2.merge([grad_x, grad_y])
        src = self.base - disp
        lim = 2.0 * step  # keep steps small where the map folds (lip line)
        # The first steps move every node; after them all but a few hundred of the 16k nodes (most
        # where the map folds, at the lips) are within a fiftieth of a pixel, so the remaining
        # steps run on those nodes alone, as a (1, n) strip: the same steps for a fraction of the
        # work.
        n_full = min(cfg.newton_iters, cfg.newton_full_iters)
        for _ in range(n_full):
            src = _newton_step(src, disp, jac, self.base, step, lim)
        if cfg.newton_iters > n_full:
            gi = (src / step - 0.5).astype(np.float32)  # grid-index coordinates
            d = cv2.remap(disp, gi, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            miss = cv2.absdiff(src + d, self.base)  # (G, G, 2) pixels
            idx = np.flatnonzero(np.maximum(miss[..., 0], miss[..., 1]) > cfg.newton_tol)
            if len(idx) > 32000:  # cv2.remap takes maps under 32767 wide (a grid over 178)
                for _ in range(cfg.newton_iters - n_full):
                    src = _newton_step(src, disp, jac, self.base, step, lim)
            elif len(idx):
                flat = src.reshape(-1, 2).copy()  # (G*G, 2)
                sub = flat[idx][None]  # (1, n, 2)
                sub_base = self.base.reshape(-1, 2)[idx][None]
                for _ in range(cfg.newton_iters - n_full):
                    sub = _newton_step(sub, disp, jac, sub_base, step, lim)
                flat[idx] = sub[0]
                src = flat.reshape(src.shape)
        # Upsample the offset (zero at the still border), not the absolute map, so
        # the frame's edge pixels map exactly onto themselves.
        full = cv2.resize(src - self.base, (s, s), interpolation=cv2.INTER_LINEAR) + self.full_base
        return full, moved[: self.n_face]

    # ------------------------------------------------------------------ pixels
    def render(self, expression: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """One frame (S, S, 3) uint8 RGB for an expression (K,) and pose (6,)."""
        m, pts = self.sample_map(expression, pose)
        # The creases of the asked-for expression are drawn on the portrait, so the warp
        # carries them with the face (the portrait's own folds are its own).
        src = self.shader.apply(self.image, expression) if self.shader is not None else self.image
        # Beyond the frame's edge the picture continues as its edge row (a mirror would
        # bring a second copy of the hair into the frame when the head dips).
        frame = cv2.remap(src, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # m: (S, S, 2)
        if self.background is not None:
            self.background.composite(frame, m)
        if self.mouth is not None:
            rounding = float(expression[CH["mouthFunnel"]]) + float(expression[CH["mouthPucker"]])
            self.mouth.paint(frame, pts, self._own_teeth(expression), rounding)
        if self.eyelids is not None:
            blink = {ch: float(expression[CH[ch]]) for ch in _BLINKS}
            if max(blink.values()) >= 0.15:
                still = np.array(expression, np.float64)
                still[[CH[ch] for ch in _BLINKS]] = 0.0
                self.eyelids.paint(frame, pts, self.landmarks(still, pose), blink, m)
        return frame

    def render_many(self, expressions: np.ndarray, poses: np.ndarray) -> Iterator[np.ndarray]:
        """``render`` for each of expressions (T, K) and poses (T, 6), one frame at a time."""
        for expression, pose in zip(expressions, poses):
            yield self.render(expression, pose)

    def _own_teeth(self, expression: np.ndarray) -> bool:
        """Whether the portrait's own teeth fit this frame: not when its own smile is taken away."""
        if self.rest is None:
            return True
        smile = [CH["mouthSmileLeft"], CH["mouthSmileRight"]]
        own = float(self.rest.own[smile].mean())
        if own <= 0:
            return True
        applied = self.rest.apply(np.asarray(expression, np.float64), self._full)
        return float(applied[smile].mean()) > -0.5 * own  # at least half of its own smile is left
