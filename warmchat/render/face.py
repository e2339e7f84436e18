"""Portraits: read, validate, find the face with MediaPipe FaceMesh, crop around it.

MediaPipe runs on the portrait once; the renderer then only warps. Landmarks are
kept in pixel units of the square crop, with depth ``z`` on the same scale as
``x`` (MediaPipe's convention), smaller z = nearer the camera.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from warmchat.errors import PortraitError

log = logging.getLogger(__name__)

# Landmark indices of the 478-point FaceMesh topology (refined: irises 468-477).
# "Right"/"left" are the subject's: the subject's right eye is on the image's left.
LIPS_UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LIPS_LOWER_OUTER = [146, 91, 181, 84, 17, 314, 405, 321, 375]
LIPS_UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LIPS_LOWER_INNER = [95, 88, 178, 87, 14, 317, 402, 318, 324]
# Lip points between the outer and inner contours, by the lip they belong to.
LIPS_UPPER_MID = [
    76,
    184,
    74,
    73,
    72,
    11,
    302,
    303,
    304,
    408,
    306,
    62,
    183,
    42,
    41,
    38,
    12,
    268,
    271,
    272,
    407,
    292,
]
LIPS_LOWER_MID = [77, 90, 180, 85, 16, 315, 404, 320, 307, 96, 89, 179, 86, 15, 316, 403, 319, 325]
LIPS_UPPER_ALL = LIPS_UPPER_OUTER[1:-1] + LIPS_UPPER_INNER[1:-1] + LIPS_UPPER_MID
LIPS_LOWER_ALL = LIPS_LOWER_OUTER + LIPS_LOWER_INNER + LIPS_LOWER_MID
MOUTH_CORNERS = (61, 291)  # outer corners, image-left then image-right
EYE_R_UPPER = [246, 161, 160, 159, 158, 157, 173]  # outer corner -> inner corner
EYE_R_LOWER = [7, 163, 144, 145, 153, 154, 155]
EYE_R_CORNERS = (33, 133)
EYE_L_UPPER = [466, 388, 387, 386, 385, 384, 398]
EYE_L_LOWER = [249, 390, 373, 374, 380, 381, 382]
EYE_L_CORNERS = (263, 362)
# Rings of skin above each upper lid, nearest first: they follow a blink partly.
EYE_R_ABOVE = [[247, 30, 29, 27, 28, 56, 190], [113, 225, 224, 223, 222, 221, 189]]
EYE_L_ABOVE = [[467, 260, 259, 257, 258, 286, 414], [342, 445, 444, 443, 442, 441, 413]]
EYE_R_BELOW = [25, 110, 24, 23, 22, 26, 112]
EYE_L_BELOW = [255, 339, 254, 253, 252, 256, 341]
IRIS_R = list(range(468, 473))
IRIS_L = list(range(473, 478))
BROW_R = [70, 63, 105, 66, 107, 46, 53, 52, 65, 55]  # upper then lower edge, outer -> inner
BROW_L = [300, 293, 334, 296, 336, 276, 283, 282, 295, 285]
NOSE_WINGS = [129, 98, 358, 327, 64, 294, 48, 278]
CHEEKS = [50, 101, 36, 205, 280, 330, 266, 425, 118, 117, 347, 346]
FACE_OVAL = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
    377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
]  # fmt: skip
CHIN = 152
FOREHEAD = 10
N_LANDMARKS = 478


@dataclass
class PortraitConfig:
    """How a portrait is read and cropped."""

    size: int = 512  # side of the square crop the renderer works on, pixels
    face_fraction: float = 0.42  # width of the face oval / side of the crop
    max_face_fraction: float = 0.6  # the crop may tighten to this to stay inside the picture
    face_center_y: float = 0.48  # vertical position of the face centre in the crop (0 = top)
    min_face_px: int = 48  # smaller faces (in the original image) are refused
    max_input_side: int = 4096  # larger images are downscaled before anything else
    max_input_pixels: int = 80_000_000  # refuse anything bigger (decompression bombs)
    detect_side: int = 1024  # images are downscaled to this side for face detection
    background: tuple[int, int, int] = (255, 255, 255)  # fill for transparent pixels
    # Orientation: a face the detector scores this high is taken as upright as traced;
    # a lower one is turned over when the detector scores it higher by ``flip_margin``.
    upright_score: float = 0.85
    flip_margin: float = 0.1
    min_face_score: float = 0.65  # a face the detector scores lower everywhere is refused


@dataclass
class FaceModel:
    """A portrait cropped around its face, with its 478 landmarks."""

    image: np.ndarray  # (S, S, 3) uint8 RGB crop
    landmarks: np.ndarray  # (478, 3) float32, pixels of the crop; z on the x scale
    notice: str | None = None  # something the user should know (e.g. several faces found)
    source: str = ""  # where it came from, for messages
    geometry: dict = field(default_factory=dict)  # derived measures, see face_geometry()

    def __post_init__(self) -> None:
        if not self.geometry:
            self.geometry = face_geometry(self.landmarks)

    @property
    def size(self) -> int:
        return self.image.shape[0]


def face_geometry(lm: np.ndarray) -> dict:
    """Measures of a face used to scale expressions to its own proportions.

    Returns eye centres, the inter-ocular distance ``iod`` (pixels), a unit
    ``right`` axis (image-left eye -> image-right eye) and ``down`` axis, the face
    oval's centre and width, and the head pivot (behind the face, for 3-D turns).
    """
    eye_r = lm[EYE_R_UPPER + EYE_R_LOWER, :2].mean(0)
    eye_l = lm[EYE_L_UPPER + EYE_L_LOWER, :2].mean(0)
    right = eye_l - eye_r
    iod = float(np.linalg.norm(right))
    right = right / max(iod, 1e-6)
    down = np.array([-right[1], right[0]])
    oval = lm[FACE_OVAL]
    center = oval[:, :2].mean(0)
    width = float(np.ptp(oval[:, :2] @ right))
    height = float(np.ptp(oval[:, :2] @ down))
    # The head turns about a point roughly behind the cheekbones: half a face
    # width behind the face's mean depth.
    pivot = np.array([center[0], center[1], float(oval[:, 2].mean()) + 0.5 * width])
    return {
        "eye_r": eye_r,
        "eye_l": eye_l,
        "iod": iod,
        "right": right,
        "down": down,
        "center": center,
        "width": width,
        "height": height,
        "pivot": pivot,
    }


# MediaPipe graphs are loaded once per process and are not thread-safe: a lock
# serialises their use (detection runs once per portrait, so this is cheap).
_MP_LOCK = threading.Lock()
_MP_MODELS: dict[str, object] = {}


@contextlib.contextmanager
def _quiet_native_stderr():
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


def _mp_model(kind: str):
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
    import mediapipe as mp

    if kind not in _MP_MODELS:
        if kind == "mesh":
            with _quiet_native_stderr():
                model = mp.solutions.face_mesh.FaceMesh(
                    static_image_mode=True, max_num_faces=4, refine_landmarks=True,
                    min_detection_confidence=0.5,
                )  # fmt: skip
                model.process(np.zeros((64, 64, 3), np.uint8))  # the first call logs too
        elif kind == "selfie":  # person / background segmentation (render/background.py)
            with _quiet_native_stderr():
                model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        else:  # "detect0": short-range detector, "detect1": full-range (small faces)
            with _quiet_native_stderr():
                model = mp.solutions.face_detection.FaceDetection(
                    model_selection=int(kind[-1]), min_detection_confidence=0.5
                )
                model.process(np.zeros((64, 64, 3), np.uint8))
        _MP_MODELS[kind] = model
    return _MP_MODELS[kind]


def detect_landmarks(rgb: np.ndarray) -> list[np.ndarray]:
    """All faces' landmarks in ``rgb`` (H, W, 3 uint8), each (478, 3) in pixels, largest first."""
    h, w = rgb.shape[:2]
    with _MP_LOCK:
        res = _mp_model("mesh").process(np.ascontiguousarray(rgb))
    faces = []
    for f in res.multi_face_landmarks or []:
        a = np.array([[p.x * w, p.y * h, p.z * w] for p in f.landmark], np.float32)
        faces.append(a)
    faces.sort(key=lambda a: -float(np.ptp(a[:, 0]) * np.ptp(a[:, 1])))
    return faces


def _iou(a: tuple, b: tuple) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter + 1e-9)


def _detect_boxes(rgb: np.ndarray) -> list[tuple[float, float, float, float, float]]:
    """Face boxes (x, y, w, h, score) in pixels, largest first, from both MediaPipe detectors.

    The full-range one finds small faces in big pictures; the short-range one
    finds close-up faces it misses (CG characters, some paintings). Boxes of
    the same face from both are merged, keeping the higher score.
    """
    h, w = rgb.shape[:2]
    boxes: list[tuple[float, float, float, float, float]] = []
    for kind in ("detect0", "detect1"):
        with _MP_LOCK:
            res = _mp_model(kind).process(np.ascontiguousarray(rgb))
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


def _detect_boxes_tiled(rgb: np.ndarray, tile: int = 640) -> list[tuple[float, float, float, float, float]]:
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
            for bx, by, bw, bh, score in _detect_boxes(rgb[y0c : y0c + tile, x0c : x0c + tile]):
                box = (bx + x0c, by + y0c, bw, bh, score)
                if all(_iou(box, o) < 0.3 for o in boxes):
                    boxes.append(box)
    boxes.sort(key=lambda b: -b[2] * b[3])
    return boxes


_USE_AN_IMAGE = "use a PNG, JPEG or WebP photo or painting of one face."


def _display_name(src) -> str:
    """A file's base name, safe to show: no folders, no control characters, not too long."""
    name = "".join(c if c.isprintable() else "?" for c in Path(src).name) or "The portrait"
    return name if len(name) <= 80 else name[:77] + "..."


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Pixel values of any numeric type as uint8.

    Floats up to 1 are fractions of full brightness; values beyond 255 (16-bit and
    32-bit images) are scaled so that the brightest is 255; NaN and negatives are black.
    """
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    a = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    a = np.clip(a, 0, None)
    top = float(a.max()) if a.size else 0.0
    if arr.dtype.kind == "f" and top <= 1.0:
        a = a * 255
    elif top > 255:
        a = a * (255 / top)
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def _array_image(arr: np.ndarray) -> Image.Image:
    """An (H, W), (H, W, 1-4) array of any numeric type as a Pillow image (L, LA, RGB, RGBA)."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.dtype.kind not in "biuf" or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] > 4):
        raise PortraitError(
            f"The portrait is an array of shape {arr.shape} and type {arr.dtype}, not an image: "
            "pass an (H, W, 3) RGB array."
        )
    return Image.fromarray(np.ascontiguousarray(_to_uint8(arr)))


def _open_file(path: Path, cfg: PortraitConfig) -> Image.Image:
    """Open and decode an image file, or refuse it in our own words (base name only)."""
    name = _display_name(path)
    if not path.is_file():
        raise PortraitError(f"Portrait file not found: {name}. Check the path.")
    if path.stat().st_size == 0:
        raise PortraitError(f"{name} is empty (0 bytes), not an image: {_USE_AN_IMAGE}")
    Image.MAX_IMAGE_PIXELS = cfg.max_input_pixels
    try:
        img = Image.open(path)  # reads the header only: the size is checked before decoding
    except Image.DecompressionBombError:
        raise PortraitError(
            f"{name} is too large to open safely: use an image under "
            f"{cfg.max_input_pixels // 1_000_000} megapixels."
        ) from None
    except Exception as e:  # whatever the decoder trips on, it is the file that is wrong
        log.info("cannot identify %s: %r", name, e)
        raise PortraitError(f"{name} is not an image that can be read: {_USE_AN_IMAGE}") from None
    if img.width * img.height <= cfg.max_input_pixels:
        try:
            img.load()
        except Exception as e:  # a truncated or corrupt file whose header was fine
            log.info("cannot decode %s: %r", name, e)
            raise PortraitError(
                f"{name} is not an image that can be read (the file is damaged or cut short): {_USE_AN_IMAGE}"
            ) from None
    return img


def _to_rgb(img: Image.Image, cfg: PortraitConfig) -> np.ndarray:
    """Any Pillow mode as (H, W, 3) uint8 RGB, upright by its EXIF, transparency on the background."""
    with contextlib.suppress(Exception):  # a broken EXIF block: keep the picture as stored
        img = ImageOps.exif_transpose(img)
    if img.mode in ("I", "F") or img.mode.startswith("I;"):  # 16-bit, 32-bit and float grayscale
        img = Image.fromarray(_to_uint8(np.asarray(img)))
    if img.has_transparency_data:  # RGBA, RGBa, LA, La, PA, palette or colour-key transparency
        if img.mode == "La":  # premultiplied: Pillow converts it only to LA
            img = img.convert("LA")
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (*cfg.background, 255))
        img = Image.alpha_composite(bg, rgba)
    return np.asarray(img.convert("RGB"))


def read_image(src, config: PortraitConfig | None = None) -> np.ndarray:
    """Read a portrait from a path, PIL image or array into (H, W, 3) uint8 RGB.

    Handles every mode Pillow opens: EXIF rotation, transparency (composited on
    ``config.background``, the same whether the image comes as a file, a Pillow
    image or an array), palette, grayscale, CMYK, 16-bit and float images; and
    downscales huge ones. Raises PortraitError with a fix, in one sentence that
    names only the file's base name, when the input is not a usable image.
    """
    cfg = config or PortraitConfig()
    name = _display_name(src) if isinstance(src, (str, Path)) else "The portrait"
    if isinstance(src, np.ndarray):
        img = _array_image(src)
    elif isinstance(src, Image.Image):
        img = src
    else:
        img = _open_file(Path(src), cfg)
    if img.width * img.height > cfg.max_input_pixels:
        raise PortraitError(
            f"{name} is {img.width}x{img.height} pixels, too large: use an image under "
            f"{cfg.max_input_pixels // 1_000_000} megapixels."
        )
    try:
        rgb = _to_rgb(img, cfg)
    except Exception as e:  # a Pillow image that cannot be decoded or converted
        log.info("cannot convert %s: %r", name, e)
        raise PortraitError(f"{name} is not an image that can be read: {_USE_AN_IMAGE}") from None
    if min(rgb.shape[:2]) < 32:
        raise PortraitError(f"{name} is only {rgb.shape[1]}x{rgb.shape[0]} pixels: use a larger image.")
    scale = cfg.max_input_side / max(rgb.shape[:2])
    if scale < 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


NO_FACE = (
    "No face found in the portrait: use a photo or painting with one clear, "
    "front-facing face, well lit and not covered (if the face is small in the "
    "picture, crop closer to it)."
)


def _face_score(lm: np.ndarray, boxes: list) -> float:
    """The best detector score among the boxes centred inside the traced face (0 if none)."""
    (x0, y0), (x1, y1) = lm[:, :2].min(0), lm[:, :2].max(0)
    inside = (b[4] for b in boxes if x0 <= b[0] + b[2] / 2 <= x1 and y0 <= b[1] + b[3] / 2 <= y1)
    return max(inside, default=0.0)


def _find_face(rgb: np.ndarray, cfg: PortraitConfig, tiled: bool = True) -> tuple[np.ndarray, int, float]:
    """Landmarks (478, 3) of the largest face in full-image pixels, the face count, and the
    face detector's score for that face (0 when only FaceMesh saw it)."""
    s = min(1.0, cfg.detect_side / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else rgb
    faces = detect_landmarks(small)
    if faces:
        # FaceMesh's detector misses small faces; the full-range detector counts them.
        boxes = _detect_boxes(small)
        return faces[0] / s, max(len(faces), len(boxes)), _face_score(faces[0], boxes)
    # FaceMesh's own detector misses small faces in big pictures and some
    # stylised ones: find the face with the detectors, then trace a crop around it.
    boxes = [(b[0] / s, b[1] / s, b[2] / s, b[3] / s, b[4]) for b in _detect_boxes(small)]
    if not boxes and tiled:
        boxes = _detect_boxes_tiled(rgb)
    if not boxes:
        raise PortraitError(NO_FACE)
    x, y, w, h, score = boxes[0]
    cx, cy = x + w / 2, y + h / 2
    for k in (2.2, 1.8, 3.0):  # FaceMesh wants some context around the face, not too much
        side = k * max(w, h)
        crop, off, sc = _square_crop(rgb, cx, cy, side, min(1024, max(256, int(side))))
        faces = detect_landmarks(crop)
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


def face_tilt(lm: np.ndarray) -> float:
    """Degrees the face is turned in the picture's plane: the direction from the eyes' centre
    to the mouth's, 0 when it points straight down (upright), -90 when it points right
    (the picture was turned 90 degrees counter-clockwise), +-180 upside down."""
    eyes = lm[EYE_R_UPPER + EYE_R_LOWER + EYE_L_UPPER + EYE_L_LOWER, :2].mean(0)
    mouth = lm[LIPS_UPPER_OUTER + LIPS_LOWER_OUTER, :2].mean(0)
    v = mouth - eyes
    return float(np.degrees(np.arctan2(-v[0], v[1])))


def _quarter_turns(lm: np.ndarray) -> int:
    """How many times ``np.rot90`` (counter-clockwise) must turn the picture to stand the face up."""
    return round(face_tilt(lm) / 90) % 4


def _detector_score(rgb: np.ndarray) -> float:
    with _MP_LOCK:
        res = _mp_model("detect0").process(np.ascontiguousarray(rgb))
    return max((float(d.score[0]) for d in res.detections or []), default=0.0)


def _verdict(rgb: np.ndarray, lm: np.ndarray, score: float, cfg: PortraitConfig) -> tuple[bool, bool]:
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
    up, down = _detector_score(crop), _detector_score(crop[::-1, ::-1])
    log.debug("face scores: picture %.3f, crop %.3f, crop turned over %.3f", score, up, down)
    return max(score, up) >= cfg.min_face_score, down > up + cfg.flip_margin


_TURNS = {1: "90° counter-clockwise", 2: "180°", 3: "90° clockwise"}
NOT_HUMAN = (
    "No face found that looks human: this looks like an animal, an object or a drawing "
    "without a human face, so use a photo or painting of one person's clear, front-facing face."
)


def _find_upright_face(rgb: np.ndarray, cfg: PortraitConfig) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Find the face and stand it up: (picture, landmarks, face count, quarter turns applied).

    An upright face the detector is sure of costs nothing more. A sideways face is
    traced as such and turned by its landmarks; an upside-down one is either traced
    as if upright (then the detector prefers it turned over) or not found at all: then
    the picture is tried turned by 180, 90 and 270 degrees. A turned picture is kept
    only if its face passes the same checks as an upright one.
    """
    verdict = None
    try:
        lm, n, score = _find_face(rgb, cfg)
    except PortraitError as e:
        lm, n, score, first = None, 0, 0.0, e
    if lm is None:
        turns = [2, 1, 3]
    elif (k := _quarter_turns(lm)) != 0:
        turns = [k]
    else:
        verdict = _verdict(rgb, lm, score, cfg)
        if verdict == (True, False):
            return rgb, lm, n, 0
        turns = [2] if verdict[1] else []
    for k in turns:
        turned = np.ascontiguousarray(np.rot90(rgb, k))
        try:
            lm_t, n_t, score_t = _find_face(turned, cfg, tiled=False)
        except PortraitError:
            continue
        if _quarter_turns(lm_t) == 0 and _verdict(turned, lm_t, score_t, cfg) == (True, False):
            return turned, lm_t, n_t, k
    if lm is None:
        raise first
    if not (verdict or _verdict(rgb, lm, score, cfg))[0]:
        raise PortraitError(NOT_HUMAN)
    return rgb, lm, n, 0  # could not be stood up: keep it as it is


def _square_crop(rgb: np.ndarray, cx: float, cy: float, side: float, out: int, soft_border: bool = False):
    """Crop a square of ``side`` pixels centred at (cx, cy), resized to ``out``.

    Pixels outside the image (a picture smaller than the crop) mirror it, which the
    face detector likes; with ``soft_border`` (the crop the renderer animates) they
    continue its edge instead, blurred with distance: a mirrored border would show
    a second copy of the hair or the shoulder. Returns the crop, its top-left
    corner in the image, and the scale.
    """
    sc = out / side
    x0, y0 = cx - side / 2, cy - side / 2
    m = np.array([[sc, 0, -x0 * sc], [0, sc, -y0 * sc]], np.float32)
    interp = cv2.INTER_AREA if sc < 1 else cv2.INTER_CUBIC
    border = cv2.BORDER_REPLICATE if soft_border else cv2.BORDER_REFLECT_101
    crop = cv2.warpAffine(rgb, m, (out, out), flags=interp, borderMode=border)
    if soft_border:
        inside = cv2.warpAffine(np.full(rgb.shape[:2], 255, np.uint8), m, (out, out), flags=cv2.INTER_NEAREST)
        if (inside == 0).sum() > out:  # more than a rounding row
            # The further from the picture, the blurrier: edge streaks fade into a soft extension.
            far = cv2.distanceTransform((inside == 0).astype(np.uint8), cv2.DIST_L2, 3)
            w = np.clip(far / (out / 12), 0, 1)[..., None]
            soft = cv2.GaussianBlur(cv2.GaussianBlur(crop, (0, 0), out / 16), (0, 0), out / 16)
            crop = (crop * (1 - w) + soft * w).astype(np.uint8)
    return crop, np.array([x0, y0], np.float32), sc


def _crop_box(rgb: np.ndarray, lm: np.ndarray, cfg: PortraitConfig) -> tuple[float, float, float]:
    """Centre and side of the square crop around the face traced at ``lm``.

    The face has a fixed size and position, so every portrait gives the renderer the
    same framing. Where that would reach past the picture, the crop tightens (the
    face may fill up to ``max_face_fraction``) and slides back inside, rather than
    inventing a mirrored border.
    """
    g = face_geometry(lm)
    h, w = rgb.shape[:2]
    side = g["width"] / cfg.face_fraction
    side = max(min(side, h, w), g["width"] / cfg.max_face_fraction)
    cx = g["center"][0]
    cy = g["center"][1] + (0.5 - cfg.face_center_y) * side
    if side <= min(h, w):
        cx = float(np.clip(cx, side / 2, w - side / 2))
        cy = float(np.clip(cy, side / 2, h - side / 2))
    return cx, cy, side


def load_portrait(src, config: PortraitConfig | None = None) -> FaceModel:
    """Read a portrait, find its largest face, stand it upright, crop a square around it and trace it.

    Raises PortraitError (a UserInputError) with a fix for: a missing file, a file
    that is not an image, an image too large, no face, a face too small.
    """
    cfg = config or PortraitConfig()
    rgb = read_image(src, cfg)
    rgb, lm, n_faces, turns = _find_upright_face(rgb, cfg)
    g = face_geometry(lm)
    if g["width"] < cfg.min_face_px:
        raise PortraitError(
            f"The face is only {g['width']:.0f} pixels wide: use a portrait where the face "
            f"is at least {cfg.min_face_px} pixels wide (crop closer to the face)."
        )
    # 1. Square crop with the face at a fixed size and position (see _crop_box).
    crop, off, sc = _square_crop(rgb, *_crop_box(rgb, lm, cfg), cfg.size, soft_border=True)
    # 2. Trace the crop again: landmarks on the exact pixels the renderer warps.
    faces = detect_landmarks(crop)
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
    return FaceModel(crop, lm_crop.astype(np.float32), notice=notice, source=str(src)[:200])
