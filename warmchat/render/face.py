"""Portraits: read and validate a picture, the face model (landmarks and measures), the crop.

Finding and tracing the face is ``render.tracer.FaceTracer`` (MediaPipe); it runs on
the portrait once, and the renderer then only warps. Landmarks are
kept in pixel units of the square crop, with depth ``z`` on the same scale as
``x`` (MediaPipe's convention), smaller z = nearer the camera.
"""

from __future__ import annotations

import contextlib
import logging
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
    # (S, S) float32 in [0, 1]: how much each pixel is the person (the tracer's selfie
    # segmentation, for the background plate); None: segmented when a renderer needs it.
    person: np.ndarray | None = field(default=None, repr=False)

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


_TURNS = {1: "90° counter-clockwise", 2: "180°", 3: "90° clockwise"}
NOT_HUMAN = (
    "No face found that looks human: this looks like an animal, an object or a drawing "
    "without a human face, so use a photo or painting of one person's clear, front-facing face."
)


def load_portrait(src, config: PortraitConfig | None = None, tracer=None) -> FaceModel:
    """``FaceTracer.trace``: read a portrait, find its face, stand it up, crop and trace it.

    With no ``tracer`` a fresh one is made (its MediaPipe graphs load in ~0.1 s); a
    caller tracing many pictures keeps one (the pipeline does).
    """
    from warmchat.render.tracer import FaceTracer  # MediaPipe lives there

    return (tracer or FaceTracer()).trace(src, config)
