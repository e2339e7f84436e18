"""Write the stored face fixtures the fast tests use instead of MediaPipe: ``python -m tests.make_fixtures``.

For each default portrait: the square crop's box in the picture, the landmarks
traced on the crop and the person mask, exactly as ``FaceTracer.trace``
computes them. ``tests/test_render.py`` checks that they still match a fresh
trace, and says to run this when they do not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.render.face import FaceModel, PortraitConfig, _crop_box, _square_crop, read_image

FACES = Path(__file__).resolve().parent / "data" / "faces"
PORTRAITS = {"astronaut": DEFAULT_AGENT_PORTRAIT, "monalisa": DEFAULT_USER_PORTRAIT}


def stored_face(name: str) -> FaceModel:
    """The default portrait ``name`` as ``load_portrait`` gives it, from its stored fixture (no MediaPipe)."""
    d = np.load(FACES / f"{name}.npz")
    cfg = PortraitConfig()
    crop, _, _ = _square_crop(read_image(PORTRAITS[name], cfg), *d["box"], cfg.size, soft_border=True)
    return FaceModel(crop, d["landmarks"], source=str(PORTRAITS[name]), person=d["person"].astype(np.float32))


def main() -> None:
    from warmchat.render import tracer as T

    tracer, cfg = T.FaceTracer(), PortraitConfig()
    FACES.mkdir(parents=True, exist_ok=True)
    for name, src in PORTRAITS.items():
        rgb = read_image(src, cfg)
        rgb, lm, _, turns = T._find_upright_face(tracer, rgb, cfg)
        assert turns == 0, f"{name} is not upright"
        face = tracer.trace(src, cfg)
        box = np.array(_crop_box(rgb, lm, cfg), np.float64)
        np.savez_compressed(FACES / f"{name}.npz", box=box, landmarks=face.landmarks,
                            person=face.person.astype(np.float32))  # fmt: skip
        print(f"wrote {FACES / name}.npz")


if __name__ == "__main__":
    main()
