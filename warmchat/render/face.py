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
from PIL import Image, ImageOps, UnidentifiedImageError

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


def _detect_boxes(rgb: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Face boxes (x, y, w, h) in pixels, largest first, from both MediaPipe detectors.

    The full-range one finds small faces in big pictures; the short-range one
    finds close-up faces it misses (CG characters, some paintings). Boxes of
    the same face from both are merged.
    """
    h, w = rgb.shape[:2]
    boxes: list[tuple[float, float, float, float]] = []
    for kind in ("detect0", "detect1"):
        with _MP_LOCK:
            res = _mp_model(kind).process(np.ascontiguousarray(rgb))
        for d in res.detections or []:
            b = d.location_data.relative_bounding_box
            box = (b.xmin * w, b.ymin * h, b.width * w, b.height * h)
            if all(_iou(box, o) < 0.3 for o in boxes):
                boxes.append(box)
    boxes.sort(key=lambda b: -b[2] * b[3])
    return boxes


def _detect_boxes_tiled(rgb: np.ndarray, tile: int = 640) -> list[tuple[float, float, float, float]]:
    """Face boxes found tile by tile: a face of 60-150 px in a big picture is too small
    once the whole picture is shrunk to the detectors' input, but not within a tile."""
    h, w = rgb.shape[:2]
    if max(h, w) <= tile:
        return []
    step = tile * 3 // 4
    boxes: list[tuple[float, float, float, float]] = []
    for y0 in range(0, max(h - tile, 0) + step, step):
        for x0 in range(0, max(w - tile, 0) + step, step):
            y0c, x0c = min(y0, max(h - tile, 0)), min(x0, max(w - tile, 0))
            for bx, by, bw, bh in _detect_boxes(rgb[y0c : y0c + tile, x0c : x0c + tile]):
                box = (bx + x0c, by + y0c, bw, bh)
                if all(_iou(box, o) < 0.3 for o in boxes):
                    boxes.append(box)
    boxes.sort(key=lambda b: -b[2] * b[3])
    return boxes


def read_image(src, config: PortraitConfig | None = None) -> np.ndarray:
    """Read a portrait from a path, PIL image or array into (H, W, 3) uint8 RGB.

    Handles EXIF rotation, alpha (composited on ``config.background``), grayscale,
    CMYK and 16-bit images, and downscales huge ones. Raises PortraitError with a
    fix when the input is not a usable image.
    """
    cfg = config or PortraitConfig()
    name = Path(src).name if isinstance(src, (str, Path)) else "the portrait"
    if isinstance(src, np.ndarray):
        img = Image.fromarray(src)
    elif isinstance(src, Image.Image):
        img = src
    else:
        path = Path(src)
        if not path.is_file():
            raise PortraitError(f"Portrait file not found: {path}. Check the path.")
        Image.MAX_IMAGE_PIXELS = cfg.max_input_pixels
        try:
            img = Image.open(path)  # reads the header only: the size is checked before decoding
            if img.width * img.height <= cfg.max_input_pixels:
                img.load()
        except Image.DecompressionBombError:
            raise PortraitError(
                f"{path.name} is too large to open safely: use an image under "
                f"{cfg.max_input_pixels // 1_000_000} megapixels."
            ) from None
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise PortraitError(
                f"{path.name} is not an image that can be read ({type(e).__name__}): "
                "use a PNG, JPEG or WebP photo or painting of one face."
            ) from None
    if img.width * img.height > cfg.max_input_pixels:
        raise PortraitError(
            f"{name} is {img.width}x{img.height} pixels, too large: use an image under "
            f"{cfg.max_input_pixels // 1_000_000} megapixels."
        )
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (*cfg.background, 255))
        img = Image.alpha_composite(bg, rgba)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        img = Image.fromarray((255 * arr / max(arr.max(), 1)).astype(np.uint8))
    rgb = np.asarray(img.convert("RGB"))
    if min(rgb.shape[:2]) < 32:
        raise PortraitError(f"{name} is only {rgb.shape[1]}x{rgb.shape[0]} pixels: use a larger image.")
    scale = cfg.max_input_side / max(rgb.shape[:2])
    if scale < 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


def _find_face(rgb: np.ndarray, cfg: PortraitConfig) -> tuple[np.ndarray, int]:
    """Landmarks (478, 3) of the largest face in full-image pixels, and the face count."""
    s = min(1.0, cfg.detect_side / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else rgb
    faces = detect_landmarks(small)
    if faces:
        # FaceMesh's detector misses small faces; the full-range detector counts them.
        return faces[0] / s, max(len(faces), len(_detect_boxes(small)))
    # FaceMesh's own detector misses small faces in big pictures and some
    # stylised ones: find the face with the detectors, then trace a crop around it.
    boxes = [tuple(v / s for v in b) for b in _detect_boxes(small)] or _detect_boxes_tiled(rgb)
    if not boxes:
        raise PortraitError(
            "No face found in the portrait: use a photo or painting with one clear, "
            "front-facing face, well lit and not covered (if the face is small in the "
            "picture, crop closer to it)."
        )
    x, y, w, h = boxes[0]
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
    return lm, len(boxes)


def _square_crop(rgb: np.ndarray, cx: float, cy: float, side: float, out: int):
    """Crop a square of ``side`` pixels centred at (cx, cy), resized to ``out``.

    Pixels outside the image are filled by mirroring it, so the background stays
    plausible. Returns the crop, its top-left corner in the image, and the scale.
    """
    sc = out / side
    x0, y0 = cx - side / 2, cy - side / 2
    m = np.array([[sc, 0, -x0 * sc], [0, sc, -y0 * sc]], np.float32)
    interp = cv2.INTER_AREA if sc < 1 else cv2.INTER_CUBIC
    crop = cv2.warpAffine(rgb, m, (out, out), flags=interp, borderMode=cv2.BORDER_REFLECT_101)
    return crop, np.array([x0, y0], np.float32), sc


def load_portrait(src, config: PortraitConfig | None = None) -> FaceModel:
    """Read a portrait, find its largest face, crop a square around it and trace it.

    Raises PortraitError (a UserInputError) with a fix for: a missing file, a file
    that is not an image, an image too large, no face, a face too small.
    """
    cfg = config or PortraitConfig()
    rgb = read_image(src, cfg)
    lm, n_faces = _find_face(rgb, cfg)
    g = face_geometry(lm)
    if g["width"] < cfg.min_face_px:
        raise PortraitError(
            f"The face is only {g['width']:.0f} pixels wide: use a portrait where the face "
            f"is at least {cfg.min_face_px} pixels wide (crop closer to the face)."
        )
    # 1. Square crop with the face at a fixed size and position, so every portrait
    #    gives the renderer the same framing. Where that would reach past the
    #    picture, the crop tightens (the face may fill up to ``max_face_fraction``)
    #    and slides back inside, rather than inventing a mirrored border.
    h, w = rgb.shape[:2]
    side = g["width"] / cfg.face_fraction
    side = max(min(side, h, w), g["width"] / cfg.max_face_fraction)
    cx = g["center"][0]
    cy = g["center"][1] + (0.5 - cfg.face_center_y) * side
    if side <= min(h, w):
        cx = float(np.clip(cx, side / 2, w - side / 2))
        cy = float(np.clip(cy, side / 2, h - side / 2))
    crop, off, sc = _square_crop(rgb, cx, cy, side, cfg.size)
    # 2. Trace the crop again: landmarks on the exact pixels the renderer warps.
    faces = detect_landmarks(crop)
    if faces:
        lm_crop = faces[0]
    else:  # keep the first tracing, mapped into the crop
        lm_crop = lm.copy()
        lm_crop[:, :2] = (lm[:, :2] - off) * sc
        lm_crop[:, 2] *= sc
    notice = None
    if n_faces > 1:
        notice = f"Found {n_faces} faces in the portrait; animating the largest one."
        log.info(notice)
    return FaceModel(crop, lm_crop.astype(np.float32), notice=notice, source=str(src)[:200])
