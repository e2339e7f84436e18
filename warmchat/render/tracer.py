"""Finding and tracing the face in a portrait with MediaPipe: ``FaceTracer``.

MediaPipe runs on the portrait once; the renderer then only warps. The tracer
finds the largest face (FaceMesh, then the face detectors for small or stylised
faces, tile by tile in big pictures), stands it upright, crops a square around it
(``face._crop_box``) and traces the crop again, so the landmarks sit on the pixels
the renderer warps.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from warmchat.errors import PortraitError
from warmchat.render.face import (
    _TURNS,
    NO_FACE,
    NOT_HUMAN,
    FaceModel,
    PortraitConfig,
    _crop_box,
    _quarter_turns,
    _square_crop,
    face_geometry,
    read_image,
)

log = logging.getLogger(__name__)


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence what MediaPipe's C++ side prints to fd 2 while its graphs start.

    Its start-up chatter (TFLite delegate, absl and feedback-manager warnings)
    would otherwise land in every CLI run; real errors still raise in Python.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class FaceTracer:
    """MediaPipe's face graphs (FaceMesh, two face detectors, selfie segmentation) for one owner.

    The pipeline builds one and traces every portrait with it; a bench or a test
    makes its own. Each graph loads on first use (~0.01-0.03 s once MediaPipe is
    imported). The graphs are not thread-safe, so a lock serialises their use
    (tracing runs once per portrait, so this is cheap). Portraits traced from files
    are remembered by content (the last ``remember`` of them): every visitor starts
    with the same default portraits, and tracing them again would only delay the
    first frames.
    """

    def __init__(self, remember: int = 8) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, object] = {}
        self._traced: OrderedDict[tuple[str, str], FaceModel] = OrderedDict()  # (sha1, config) -> face
        self._remember = remember  # about 1 MB each

    def _model(self, kind: str):
        warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
        import mediapipe as mp

        if kind not in self._models:
            if kind == "mesh":
                with quiet_native_stderr():
                    model = mp.solutions.face_mesh.FaceMesh(
                        static_image_mode=True, max_num_faces=4, refine_landmarks=True,
                        min_detection_confidence=0.5,
                    )  # fmt: skip
                    model.process(np.zeros((64, 64, 3), np.uint8))  # the first call logs too
            elif kind == "selfie":  # person / background segmentation (render/background.py)
                with quiet_native_stderr():
                    model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
                    model.process(np.zeros((64, 64, 3), np.uint8))  # its first call logs too
            else:  # "detect0": short-range detector, "detect1": full-range (small faces)
                with quiet_native_stderr():
                    model = mp.solutions.face_detection.FaceDetection(
                        model_selection=int(kind[-1]), min_detection_confidence=0.5
                    )
                    model.process(np.zeros((64, 64, 3), np.uint8))
            self._models[kind] = model
        return self._models[kind]

    def describe(self) -> str:
        """The back end in words (``WarmChatPipeline.status``)."""
        return "MediaPipe FaceMesh, face detectors and selfie segmentation"

    def landmarks(self, rgb: np.ndarray) -> list[np.ndarray]:
        """All faces' landmarks in ``rgb`` (H, W, 3 uint8), each (478, 3) in pixels, largest first."""
        h, w = rgb.shape[:2]
        with self._lock:
            res = self._model("mesh").process(np.ascontiguousarray(rgb))
        faces = []
        for f in res.multi_face_landmarks or []:
            a = np.array([[p.x * w, p.y * h, p.z * w] for p in f.landmark], np.float32)
            faces.append(a)
        faces.sort(key=lambda a: -float(np.ptp(a[:, 0]) * np.ptp(a[:, 1])))
        return faces

    def boxes(self, rgb: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        """Face boxes (x, y, w, h, score) in pixels, largest first, from both MediaPipe detectors.

        The full-range one finds small faces in big pictures; the short-range one
        finds close-up faces it misses (CG characters, some paintings). Boxes of
        the same face from both are merged, keeping the higher score.
        """
        h, w = rgb.shape[:2]
        boxes: list[tuple[float, float, float, float, float]] = []
        for kind in ("detect0", "detect1"):
            with self._lock:
                res = self._model(kind).process(np.ascontiguousarray(rgb))
            for d in res.detections or []:
                b = d.location_data.relative_bounding_box
                box = (b.xmin * w, b.ymin * h, b.width * w, b.height * h, float(d.score[0]))
                same = [i for i, o in enumerate(boxes) if _iou(box, o) >= 0.3]
                if not same:
                    boxes.append(box)
                elif box[4] > boxes[same[0]][4]:
                    boxes[same[0]] = (*boxes[same[0]][:4], box[4])
        boxes.sort(key=lambda b: -b[2] * b[3])
        return boxes

    def boxes_tiled(self, rgb: np.ndarray, tile: int = 640) -> list[tuple[float, float, float, float, float]]:
        """Face boxes found tile by tile: a face of 60-150 px in a big picture is too small
        once the whole picture is shrunk to the detectors' input, but not within a tile."""
        h, w = rgb.shape[:2]
        if max(h, w) <= tile:
            return []
        step = tile * 3 // 4
        boxes: list[tuple[float, float, float, float, float]] = []
        for y0 in range(0, max(h - tile, 0) + step, step):
            for x0 in range(0, max(w - tile, 0) + step, step):
                y0c, x0c = min(y0, max(h - tile, 0)), min(x0, max(w - tile, 0))
                for bx, by, bw, bh, score in self.boxes(rgb[y0c : y0c + tile, x0c : x0c + tile]):
                    box = (bx + x0c, by + y0c, bw, bh, score)
                    if all(_iou(box, o) < 0.3 for o in boxes):
                        boxes.append(box)
        boxes.sort(key=lambda b: -b[2] * b[3])
        return boxes

    def detector_score(self, rgb: np.ndarray) -> float:
        """The short-range face detector's best score on ``rgb`` (0 when it finds nothing)."""
        with self._lock:
            res = self._model("detect0").process(np.ascontiguousarray(rgb))
        return max((float(d.score[0]) for d in res.detections or []), default=0.0)

    def person(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W) float32 in [0, 1]: how much each pixel is the person (selfie segmentation)."""
        with self._lock:
            res = self._model("selfie").process(np.ascontiguousarray(rgb))
        if res.segmentation_mask is None:
            return np.zeros(rgb.shape[:2], np.float32)
        return np.clip(res.segmentation_mask.astype(np.float32), 0, 1)

    def trace(self, src, config: PortraitConfig | None = None) -> FaceModel:
        """``load_portrait`` by this tracer; a file it traced before (same bytes) is not traced again.

        A face is never changed after tracing, so conversations share it.
        """
        cfg = config or PortraitConfig()
        digest = content_key(src) if isinstance(src, (str, Path)) else None
        if digest is None:
            return _trace(self, src, cfg)  # arrays, images, huge files (clear errors)
        p = Path(src)
        key = (digest, repr(cfg))
        with self._lock:
            face = self._traced.get(key)
        if face is None:
            face = _trace(self, p, cfg)
            with self._lock:
                self._traced[key] = face
                while len(self._traced) > self._remember:
                    self._traced.popitem(last=False)
        return face


def content_key(path: str | Path) -> str | None:
    """A file's identity by its bytes (a picture uploaded again under another name is the same
    picture), or None for what is no regular file or too big to read whole (over 64 MB)."""
    p = Path(path)
    if not p.is_file() or p.stat().st_size > 64 * 2**20:
        return None
    return hashlib.sha1(p.read_bytes()).hexdigest()


def _iou(a: tuple, b: tuple) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter + 1e-9)


def _face_score(lm: np.ndarray, boxes: list) -> float:
    """The best detector score among the boxes centred inside the traced face (0 if none)."""
    (x0, y0), (x1, y1) = lm[:, :2].min(0), lm[:, :2].max(0)
    inside = (b[4] for b in boxes if x0 <= b[0] + b[2] / 2 <= x1 and y0 <= b[1] + b[3] / 2 <= y1)
    return max(inside, default=0.0)


def _find_face(
    tracer: FaceTracer, rgb: np.ndarray, cfg: PortraitConfig, tiled: bool = True
) -> tuple[np.ndarray, int, float]:
    """Landmarks (478, 3) of the largest face in full-image pixels, the face count, and the
    face detector's score for that face (0 when only FaceMesh saw it)."""
    s = min(1.0, cfg.detect_side / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else rgb
    faces = tracer.landmarks(small)
    if faces:
        # FaceMesh's detector misses small faces; the full-range detector counts them.
        boxes = tracer.boxes(small)
        return faces[0] / s, max(len(faces), len(boxes)), _face_score(faces[0], boxes)
    # FaceMesh's own detector misses small faces in big pictures and some
    # stylised ones: find the face with the detectors, then trace a crop around it.
    boxes = [(b[0] / s, b[1] / s, b[2] / s, b[3] / s, b[4]) for b in tracer.boxes(small)]
    if not boxes and tiled:
        boxes = tracer.boxes_tiled(rgb)
    if not boxes:
        raise PortraitError(NO_FACE)
    x, y, w, h, score = boxes[0]
    cx, cy = x + w / 2, y + h / 2
    for k in (2.2, 1.8, 3.0):  # FaceMesh wants some context around the face, not too much
        side = k * max(w, h)
        crop, off, sc = _square_crop(rgb, cx, cy, side, min(1024, max(256, int(side))))
        faces = tracer.landmarks(crop)
        if faces:
            break
    else:
        raise PortraitError(
            "A face was found but its features could not be traced: use a sharper, more frontal portrait."
        )
    lm = faces[0].copy()
    lm[:, :2] = lm[:, :2] / sc + off
    lm[:, 2] /= sc
    return lm, len(boxes), score


def _verdict(
    tracer: FaceTracer, rgb: np.ndarray, lm: np.ndarray, score: float, cfg: PortraitConfig
) -> tuple[bool, bool]:
    """Whether the face traced at ``lm`` is plausible, and whether it is upside down.

    FaceMesh traces an upside-down face as an upright one (eyes on the eyes, the mouth
    on the forehead), so its landmarks cannot tell; and it finds faces in some objects
    (a coffee cup turned sideways, a colour wheel). The face detector is surer: on the
    picture it scores the test portraits 0.87-0.95 (a CG cartoon 0.69), which passes at
    once; otherwise it looks again at the crop around the face, both ways up: upright
    0.73-0.95, turned over 0.64-0.78, objects 0.00-0.61.
    """
    if score >= cfg.upright_score:
        return True, False
    crop, _, _ = _square_crop(rgb, *_crop_box(rgb, lm, cfg), 256)
    up, down = tracer.detector_score(crop), tracer.detector_score(crop[::-1, ::-1])
    log.debug("face scores: picture %.3f, crop %.3f, crop turned over %.3f", score, up, down)
    return max(score, up) >= cfg.min_face_score, down > up + cfg.flip_margin


def _find_upright_face(
    tracer: FaceTracer, rgb: np.ndarray, cfg: PortraitConfig
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Find the face and stand it up: (picture, landmarks, face count, quarter turns applied).

    An upright face the detector is sure of costs nothing more. A sideways face is
    traced as such and turned by its landmarks; an upside-down one is either traced
    as if upright (then the detector prefers it turned over) or not found at all: then
    the picture is tried turned by 180, 90 and 270 degrees. A turned picture is kept
    only if its face passes the same checks as an upright one.
    """
    verdict = None
    try:
        lm, n, score = _find_face(tracer, rgb, cfg)
    except PortraitError as e:
        lm, n, score, first = None, 0, 0.0, e
    if lm is None:
        turns = [2, 1, 3]
    elif (k := _quarter_turns(lm)) != 0:
        turns = [k]
    else:
        verdict = _verdict(tracer, rgb, lm, score, cfg)
        if verdict == (True, False):
            return rgb, lm, n, 0
        turns = [2] if verdict[1] else []
    for k in turns:
        turned = np.ascontiguousarray(np.rot90(rgb, k))
        try:
            lm_t, n_t, score_t = _find_face(tracer, turned, cfg, tiled=False)
        except PortraitError:
            continue
        if _quarter_turns(lm_t) == 0 and _verdict(tracer, turned, lm_t, score_t, cfg) == (True, False):
            return turned, lm_t, n_t, k
    if lm is None:
        raise first
    if not (verdict or _verdict(tracer, rgb, lm, score, cfg))[0]:
        raise PortraitError(NOT_HUMAN)
    return rgb, lm, n, 0  # could not be stood up: keep it as it is


def _trace(tracer: FaceTracer, src, cfg: PortraitConfig) -> FaceModel:
    """Read a portrait, find its largest face, stand it upright, crop a square around it and trace it.

    Raises PortraitError (a UserInputError) with a fix for: a missing file, a file
    that is not an image, an image too large, no face, a face too small.
    """
    rgb = read_image(src, cfg)
    rgb, lm, n_faces, turns = _find_upright_face(tracer, rgb, cfg)
    g = face_geometry(lm)
    if g["width"] < cfg.min_face_px:
        raise PortraitError(
            f"The face is only {g['width']:.0f} pixels wide: use a portrait where the face "
            f"is at least {cfg.min_face_px} pixels wide (crop closer to the face)."
        )
    # 1. Square crop with the face at a fixed size and position (see _crop_box).
    crop, off, sc = _square_crop(rgb, *_crop_box(rgb, lm, cfg), cfg.size, soft_border=True)
    # 2. Trace the crop again: landmarks on the exact pixels the renderer warps.
    faces = tracer.landmarks(crop)
    if faces:
        lm_crop = faces[0]
    else:  # keep the first tracing, mapped into the crop
        lm_crop = lm.copy()
        lm_crop[:, :2] = (lm[:, :2] - off) * sc
        lm_crop[:, 2] *= sc
    notices = []
    if turns:
        notices.append(f"The portrait was turned upright (rotated {_TURNS[turns]}).")
    if n_faces > 1:
        notices.append(f"Found {n_faces} faces in the portrait; animating the largest one.")
    notice = " ".join(notices) or None
    if notice:
        log.info(notice)
    # 3. The person's silhouette in the crop, for the background plate (render/background.py).
    person = tracer.person(crop)
    return FaceModel(crop, lm_crop.astype(np.float32), notice=notice, source=str(src)[:200], person=person)
