"""Creases an expression makes (render/shading.py) and hair that moves with the head (render/warp.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import expression
from warmchat.render import face as F
from warmchat.render.background import segment_person
from warmchat.render.warp import WarpConfig, WarpRenderer

REST_POSE = np.array([0, 0, 0, 0, 0, 1.0])
GREY = np.float32([0.299, 0.587, 0.114])


@pytest.fixture(scope="module")
def plain(astronaut_face):
    """The same renderer without shading: the difference of two frames is the shading alone."""
    return WarpRenderer(astronaut_face, WarpConfig(shading=False))


def _box(face, centre, half_iod: float) -> tuple[slice, slice]:
    h = max(2, int(face.geometry["iod"] * half_iod))
    x, y = np.round(centre).astype(int)
    return slice(y - h, y + h), slice(x - h, x + h)


def _darkening(a: np.ndarray, b: np.ndarray, box) -> float:
    """How much darker ``a`` is than ``b`` in ``box``, grey levels (mean)."""
    return float((b[box] @ GREY - a[box] @ GREY).mean())


def test_no_expression_draws_nothing(astronaut_renderer, astronaut_face):
    img = astronaut_face.image
    assert astronaut_renderer.shader.apply(img, expression()) is img
    assert astronaut_renderer.shader.shade(expression(jawOpen=1.0, eyeBlinkLeft=1.0)) is None  # no crease


def test_lowered_brows_crease_between_them_and_nowhere_else(astronaut_renderer, plain, astronaut_face):
    lm, g = astronaut_face.landmarks, astronaut_face.geometry
    x = expression(browDownLeft=1.0, browDownRight=1.0)
    shaded, flat = astronaut_renderer.render(x, REST_POSE), plain.render(x, REST_POSE)
    pts = astronaut_renderer.landmarks(x, REST_POSE)
    glabella = _box(
        astronaut_face, (pts[F.BROW_R[9]] + pts[F.BROW_L[9]]) / 2 - 0.1 * g["iod"] * g["down"], 0.2
    )
    cheek = _box(astronaut_face, pts[F.CHEEKS[0]], 0.12)
    assert _darkening(shaded, flat, glabella) > 3.0
    assert abs(_darkening(shaded, flat, cheek)) < 0.5
    # Creases stay on the skin: outside the (grown) face oval the frames are the same.
    oval = np.zeros(shaded.shape[:2], np.uint8)
    cv2.fillPoly(oval, [np.round(lm[F.FACE_OVAL, :2]).astype(np.int32)], 1)
    outside = cv2.dilate(oval, np.ones((15, 15), np.uint8)) == 0
    assert np.abs(shaded[outside].astype(int) - flat[outside]).max() <= 1


def test_a_smile_draws_its_folds_in_proportion_to_its_strength(astronaut_renderer, plain, astronaut_face):
    g = astronaut_face.geometry
    depth = []
    for w in (0.5, 1.0):
        x = expression(mouthSmileLeft=w, mouthSmileRight=w)
        shaded, flat = astronaut_renderer.render(x, REST_POSE), plain.render(x, REST_POSE)
        pts = astronaut_renderer.landmarks(x, REST_POSE)
        # Between each nose wing and mouth corner, a little outwards: where the fold runs.
        folds = []
        for wing, corner, side in ((129, F.MOUTH_CORNERS[0], -1), (358, F.MOUTH_CORNERS[1], 1)):
            c = (pts[wing] + pts[corner]) / 2 + side * 0.12 * g["iod"] * g["right"]
            folds.append(_darkening(shaded, flat, _box(astronaut_face, c, 0.12)))
        depth.append(min(folds))
    assert depth[1] > 2.0, depth  # both folds show at full strength
    assert 0.25 * depth[1] < depth[0] < 0.8 * depth[1], depth  # and half as deep at half strength


def test_a_dipping_head_carries_its_hair_instead_of_stretching_it(astronaut_face):
    """The astronaut's hair reaches the picture's top edge: the head ring takes all of it, so a
    nod moves the crown with the face (the plate shows above it) instead of pulling a cone of hair
    up to the edge."""
    r = WarpRenderer(astronaut_face)
    fixed = WarpRenderer(astronaut_face, WarpConfig(hair_ring=False))
    dip = np.array([0, 8, 0, 0, 14, 1.0])
    forehead_drop = float(
        r.landmarks(expression(), dip)[F.FOREHEAD, 1] - astronaut_face.landmarks[F.FOREHEAD, 1]
    )

    def crown(img: np.ndarray) -> float:
        """Top row of the person along the face's centre column (selfie segmentation)."""
        col = int(astronaut_face.geometry["center"][0])
        rows = np.nonzero(segment_person(img)[:, col - 3 : col + 4].mean(1) > 0.5)[0]
        return float(rows[0])

    top = crown(astronaut_face.image)
    assert top <= 2, "the case under test: hair up to the top edge"
    moved = crown(r.render(expression(), dip)) - top
    stretched = crown(fixed.render(expression(), dip)) - top
    assert moved > 0.6 * forehead_drop, (moved, forehead_drop)
    assert moved > stretched + 2, (moved, stretched)
