"""The diffusion renderer: the warp renderer's frames repainted by Stable Diffusion 1.5, on a GPU.

The paper renders with "a diffusion model conditioned on both facial and head motion". This is
that back end, built from diffusers' own classes (design note: ``docs/diffusion_renderer.md``):

1. The warp renderer draws the frame (identity, lip timing, head pose, blinks: everything the
   CPU path already gets right) and the face's 478 landmarks where this frame's motion put them.
2. The motion becomes a MediaPipe-style face-mesh drawing (``draw_face_mesh``), the kind of
   image a public ControlNet for SD 1.5 was trained on, and the head region (``head_mask``) is
   the part to repaint.
3. ``StableDiffusionControlNetInpaintPipeline`` repaints the head from the warp frame at a
   moderate strength (img2img keeps identity and lips), guided by the mesh, every frame of a
   window from the *same* noise (a still face stays still).
4. Frames go through in windows of ``window`` that overlap by ``overlap``. Each window has noise
   of its own (one noise for a whole video pins fine detail to the screen while the head moves:
   "texture sticking"), and the latents of the frames two windows share are cross-faded
   (``crossfade``) before decoding, so the change of noise is a fade, not a jump.
5. Outside the head the warp frame is kept as it is (feathered), so the background never shimmers.

Weights are used only when the user names them (``DiffusionConfig.model``, ``--diffusion-model``);
nothing is fetched by default. ``choose_renderer`` falls back to the warp renderer with one reason
when there is no GPU, no weights, or no diffusers. On a ZeroGPU Space only the window's GPU work
runs under ``@spaces.GPU`` (``warmchat.render.gpu``); models load once per process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from warmchat.render.gpu import gpu

log = logging.getLogger(__name__)

RENDERERS = ("warp", "diffusion")


@dataclass
class DiffusionConfig:
    """Settings of the diffusion renderer (all optional: the warp renderer is the default)."""

    # Stable Diffusion 1.5 weights (diffusers layout): a local folder or a hub id. None: not used.
    model: str | None = None
    # A ControlNet for SD 1.5 trained on MediaPipe face-mesh drawings (a folder or a hub id, e.g.
    # "CrucibleAI/ControlNetMediaPipeFace" with subfolder "diffusion_sd15"). None: not used.
    controlnet: str | None = None
    controlnet_subfolder: str | None = None  # where in ``controlnet`` the SD 1.5 weights sit
    prompt: str = "a portrait of a person talking, detailed face, natural skin"  # what the head looks like
    negative_prompt: str = "blurry, deformed face, extra teeth, distorted eyes"  # what it must not
    steps: int = 20  # denoising steps (only ``strength`` of them run: img2img)
    strength: float = 0.4  # how much of the warp frame is repainted: identity and lips survive below ~0.5
    guidance: float = 5.0  # classifier-free guidance scale
    control_scale: float = 0.8  # weight of the face-mesh ControlNet
    resolution: int = 512  # side the frames are diffused at (a multiple of 8; SD 1.5 is trained at 512)
    window: int = 8  # frames per batch, all from one noise
    overlap: int = 3  # frames two consecutive windows share, cross-faded from one noise to the next
    seed: int = 0  # the first window's noise (window i: seed + i)
    device: str = "auto"  # "auto": CUDA when there is one, else the warp renderer; "cuda" or "cpu" to force
    local_only: bool = True  # never reach the hub: hub ids must already be in the local cache

    @classmethod
    def from_env(cls) -> DiffusionConfig:
        """Weights named in the environment (a Space's settings): ``WARMCHAT_DIFFUSION_MODEL``,
        ``WARMCHAT_CONTROLNET`` and ``WARMCHAT_CONTROLNET_SUBFOLDER``; a Space may download them
        (``local_only`` off) since its owner named them."""
        env = os.environ.get
        return cls(model=env("WARMCHAT_DIFFUSION_MODEL") or None, controlnet=env("WARMCHAT_CONTROLNET") or None,
                   controlnet_subfolder=env("WARMCHAT_CONTROLNET_SUBFOLDER") or None,
                   local_only=not env("SYSTEM") == "spaces")  # fmt: skip

    def __post_init__(self) -> None:
        if self.resolution % 8 or not 64 <= self.resolution <= 1024:
            raise ValueError(f"resolution must be a multiple of 8 in 64..1024, got {self.resolution}")
        if not 1 <= self.window <= 64 or not 0 <= self.overlap < self.window:
            raise ValueError(
                f"need 1 <= window <= 64 and 0 <= overlap < window, got {self.window}, {self.overlap}"
            )
        if not 0.0 < self.strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1], got {self.strength}")
        if self.device not in ("auto", "cuda", "cpu"):
            raise ValueError(f"device must be auto, cuda or cpu, got {self.device!r}")


# --------------------------------------------------------------------------- what to draw


def _mesh_edges() -> dict[str, list[tuple[int, int]]]:
    from mediapipe.python.solutions import face_mesh_connections as c

    return {
        "tesselation": sorted(c.FACEMESH_TESSELATION),
        "oval": sorted(c.FACEMESH_FACE_OVAL),
        "brows": sorted(c.FACEMESH_LEFT_EYEBROW | c.FACEMESH_RIGHT_EYEBROW),
        "eyes": sorted(c.FACEMESH_LEFT_EYE | c.FACEMESH_RIGHT_EYE),
        "irises": sorted(c.FACEMESH_IRISES),
        "lips": sorted(c.FACEMESH_LIPS),
    }


# MediaPipe's own face-mesh drawing style (the ControlNet's training images): a thin grey
# tesselation under coloured contours. RGB.
_STYLE = {
    "tesselation": ((192, 192, 192), 1),
    "oval": ((224, 224, 224), 2),
    "brows": ((255, 48, 48), 2),
    "eyes": ((48, 255, 48), 2),
    "irises": ((48, 48, 255), 2),
    "lips": ((224, 224, 224), 2),
}
_EDGES: dict[str, list[tuple[int, int]]] | None = None


def draw_face_mesh(landmarks: np.ndarray, size: int, out_size: int | None = None) -> np.ndarray:
    """(out, out, 3) uint8 RGB: the face mesh at ``landmarks`` ((478, 2) px in a ``size`` frame)
    drawn on black as MediaPipe draws it."""
    global _EDGES
    if _EDGES is None:
        _EDGES = _mesh_edges()
    out_size = out_size or size
    canvas = np.zeros((out_size, out_size, 3), np.uint8)
    pts = np.round(np.asarray(landmarks, np.float64)[:, :2] * (out_size / size)).astype(np.int32)
    for part, (colour, width) in _STYLE.items():
        lines = np.array([[pts[a], pts[b]] for a, b in _EDGES[part] if a < len(pts) and b < len(pts)])
        if len(lines):
            w = max(1, round(width * out_size / 512))
            cv2.polylines(canvas, list(lines.reshape(-1, 2, 1, 2)), False, colour, w, cv2.LINE_AA)
    return canvas


def head_mask(landmarks: np.ndarray, size: int, grow: float = 1.25, feather: float = 0.04) -> np.ndarray:
    """(size, size) float32 in [0, 1]: the head where this frame's motion put it (the face's hull
    grown by ``grow`` about its centre, so hair and jaw line are repainted too), feathered."""
    pts = np.asarray(landmarks, np.float64)[:, :2]
    centre = pts.mean(0)
    hull = cv2.convexHull(((pts - centre) * grow + centre).astype(np.float32)).astype(np.int32)
    mask = np.zeros((size, size), np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0, cv2.LINE_AA)
    k = max(1, int(feather * size)) * 2 + 1
    return cv2.GaussianBlur(mask, (k, k), 0)


# --------------------------------------------------------------------------- windows


def window_starts(n: int, window: int, overlap: int) -> list[int]:
    """First frame of each window over ``n`` frames: windows of ``window`` that share ``overlap``
    frames with the next; the last may be shorter, and every frame is in some window."""
    step = window - overlap
    starts = [0]
    while starts[-1] + window < n:
        starts.append(starts[-1] + step)
    return starts


def crossfade(tail: np.ndarray, head: np.ndarray) -> np.ndarray:
    """The frames two windows share: ``tail`` (the earlier window's last k) fading into ``head``
    (the later window's first k), weights (j + 1) / (k + 1) on ``head``. Any array (k, ...)."""
    k = len(tail)
    w = (np.arange(1, k + 1) / (k + 1)).reshape((k,) + (1,) * (tail.ndim - 1))
    return (1.0 - w) * tail + w * head


# --------------------------------------------------------------------------- models


_LOADED: dict[tuple, Any] = {}  # models, loaded once per process and shared (never per-user state)
_LOCK = threading.Lock()


def cuda_available() -> bool:
    """A CUDA GPU, or a ZeroGPU Space (where CUDA appears only inside ``@spaces.GPU``)."""
    if os.environ.get("SPACES_ZERO_GPU"):
        return True
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _device(cfg: DiffusionConfig) -> str:
    return "cuda" if cfg.device == "auto" else cfg.device


def load_pipeline(cfg: DiffusionConfig):
    """``StableDiffusionControlNetInpaintPipeline`` from the named weights, once per process.

    Raises ``RuntimeError`` saying what is missing."""
    if not cfg.model or not cfg.controlnet:
        raise RuntimeError("no weights named: pass --diffusion-model and --controlnet (a folder or a hub id)")
    key = (cfg.model, cfg.controlnet, cfg.controlnet_subfolder, _device(cfg))
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        import torch
        from diffusers import (
            ControlNetModel,
            StableDiffusionControlNetInpaintPipeline,
            UniPCMultistepScheduler,
        )

        device = _device(cfg)
        dtype = torch.float16 if device == "cuda" else torch.float32
        opts = {"dtype": dtype, "local_files_only": cfg.local_only}
        try:
            controlnet = ControlNetModel.from_pretrained(
                cfg.controlnet, subfolder=cfg.controlnet_subfolder, **opts
            )
            pipe = StableDiffusionControlNetInpaintPipeline.from_pretrained(
                cfg.model, controlnet=controlnet, safety_checker=None, requires_safety_checker=False, **opts
            )
        except (OSError, ValueError) as e:
            where = "found locally" if cfg.local_only else "loaded"
            raise RuntimeError(f"weights {cfg.model!r} / {cfg.controlnet!r} could not be {where}: {e}") from e
        # UniPC reaches a clean image in ~20 steps, the scheduler diffusers' ControlNet guide uses.
        pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)
        pipe.set_progress_bar_config(disable=True)
        _LOADED[key] = pipe.to(device)
        return _LOADED[key]


def choose_renderer(name: str, cfg: DiffusionConfig) -> tuple[Any | None, str]:
    """(the loaded diffusion pipeline or None, what renders and why) for ``--renderer name``."""
    if name == "warp":
        return None, "mesh warp on the CPU"
    if name != "diffusion":
        raise ValueError(f"renderer must be one of {RENDERERS}, got {name!r}")
    why = None
    if not cfg.model or not cfg.controlnet:
        why = "no weights named (pass --diffusion-model and --controlnet)"
    elif cfg.device != "cpu" and not cuda_available():
        why = "no CUDA GPU here"
    else:
        try:
            import diffusers  # noqa: F401
        except ImportError:
            why = "diffusers is not installed (pip install -r requirements.txt)"
    if why is None:
        try:
            pipe = load_pipeline(cfg)
        except RuntimeError as e:
            why = str(e)
        else:
            return (
                pipe,
                f"diffusion ({Path(cfg.model).name} + ControlNet {Path(cfg.controlnet).name}, {_device(cfg)})",
            )
    return None, f"mesh warp on the CPU: the diffusion renderer was asked for, but {why}"


# --------------------------------------------------------------------------- the renderer


@gpu
def _diffuse(pipe, call: dict[str, Any]):
    """One window through the pipeline: (n, 4, r/8, r/8) latents on the CPU. The GPU work of a
    window, all of it (ZeroGPU runs this in its own process)."""
    import torch

    with torch.inference_mode():
        out = pipe(**call, output_type="latent").images
    return out.float().cpu()


@gpu
def _decode(pipe, latents):
    """(n, 4, h, w) latents -> (n, r, r, 3) float images in [0, 1]."""
    import torch

    vae = pipe.vae
    with torch.inference_mode():
        x = latents.to(vae.device, vae.dtype) / vae.config.scaling_factor
        img = vae.decode(x).sample
    return ((img.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()


class DiffusionRenderer:
    """Renders like the ``WarpRenderer`` it wraps, then repaints the head with the diffusion
    pipeline (see the module docstring). ``render_many`` is the batched path the stage uses."""

    def __init__(self, warp, pipe, cfg: DiffusionConfig) -> None:
        import torch

        self.warp, self.pipe, self.cfg = warp, pipe, cfg
        self.face, self.size, self.image = warp.face, warp.size, warp.image
        self.window = cfg.window
        # The prompt is embedded once per avatar, not per window.
        device = pipe._execution_device
        guided = cfg.guidance > 1.0
        with torch.inference_mode():
            pos, neg = pipe.encode_prompt(
                cfg.prompt, device, 1, guided, cfg.negative_prompt if guided else None
            )
        self._embeds = (pos, neg)

    def render(self, expression: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """One frame (S, S, 3) uint8 RGB (a window of one: prefer ``render_many``)."""
        return next(self.render_many(np.asarray(expression)[None], np.asarray(pose)[None]))

    def render_many(self, expressions: np.ndarray, poses: np.ndarray) -> Iterator[np.ndarray]:
        """Frames (S, S, 3) uint8 RGB for expressions (T, K) and poses (T, 6), yielded a window at a
        time: a window's last ``overlap`` frames wait for the next window to fade into them."""
        cfg, n = self.cfg, len(expressions)
        if n == 0:
            return
        starts = window_starts(n, cfg.window, min(cfg.overlap, max(n - 1, 0)))
        held = None  # (latents of the frames the next window shares, their warp frames and masks)
        for i, s in enumerate(starts):
            e = min(s + cfg.window, n)
            warped = [self.warp.render(expressions[t], poses[t]) for t in range(s, e)]
            marks = [self.warp.landmarks(expressions[t], poses[t]) for t in range(s, e)]
            masks = [head_mask(m, self.size) for m in marks]
            latents = self._window(warped, marks, masks, cfg.seed + i).numpy()  # (m, 4, h, w)
            if held is not None:
                k = len(held[0])
                latents[:k] = crossfade(held[0], latents[:k])
            last = i == len(starts) - 1
            keep = e - s if last else starts[i + 1] - s  # frames final once this window is in
            yield from self._finish(latents[:keep], warped[:keep], masks[:keep])
            held = None if last else (latents[keep:], warped[keep:], masks[keep:])

    def _window(self, warped: list[np.ndarray], marks: list[np.ndarray], masks: list[np.ndarray], seed: int):
        """Latents (m, 4, r/8, r/8) for one window of warp frames, their landmarks and head masks,
        every frame from the noise of ``seed``."""
        import torch
        from PIL import Image

        cfg, r, m = self.cfg, self.cfg.resolution, len(warped)
        image = [Image.fromarray(cv2.resize(f, (r, r), interpolation=cv2.INTER_AREA)) for f in warped]
        control = [Image.fromarray(draw_face_mesh(lm, self.size, r)) for lm in marks]
        mask = [Image.fromarray((cv2.resize(a, (r, r)) * 255).astype(np.uint8)) for a in masks]
        pos, neg = self._embeds
        call = {
            "prompt_embeds": pos.repeat(m, 1, 1),
            "negative_prompt_embeds": None if neg is None else neg.repeat(m, 1, 1),
            "image": image,
            "mask_image": mask,
            "control_image": control,
            "height": r,
            "width": r,
            "strength": cfg.strength,
            "num_inference_steps": cfg.steps,
            "guidance_scale": cfg.guidance,
            "controlnet_conditioning_scale": cfg.control_scale,
            # One noise for the whole window (a generator per frame, one seed): what does not move
            # between its frames is repainted alike, so it does not flicker.
            "generator": [torch.Generator("cpu").manual_seed(seed) for _ in range(m)],
        }
        return _diffuse(self.pipe, call)

    def _finish(
        self, latents: np.ndarray, warped: list[np.ndarray], masks: list[np.ndarray]
    ) -> Iterator[np.ndarray]:
        """Decode, and keep the warp frame outside the head."""
        import torch

        if not len(latents):
            return
        images = _decode(self.pipe, torch.from_numpy(np.ascontiguousarray(latents)))
        for img, frame, mask in zip(images, warped, masks):
            out = cv2.resize(
                (img * 255).astype(np.float32), (self.size, self.size), interpolation=cv2.INTER_LINEAR
            )
            a = mask[..., None]
            yield np.clip(a * out + (1 - a) * frame, 0, 255).astype(np.uint8)


class Renderers:
    """Makes each avatar's renderer: the ``WarpRenderer``, wrapped by a ``DiffusionRenderer`` when
    the diffusion back end was asked for and can run. ``status`` says which, and why."""

    def __init__(self, name: str, warp_cfg, cfg: DiffusionConfig, remember: int = 4) -> None:
        self.name, self.warp_cfg, self.cfg = name, warp_cfg, cfg
        self.pipe, self.status = choose_renderer(name, cfg)
        # The warp renderers of the last ``remember`` faces (~15 MB each), by face: building one
        # takes 0.1-0.4 s, which a visitor's first Send waited for; and every visitor starts with
        # the same two default portraits, which now share two renderers instead of two each.
        self._warps: OrderedDict[int, tuple[object, object]] = OrderedDict()  # id(face) -> (face, warp)
        self._remember = remember
        self._lock = threading.Lock()

    @property
    def fallback(self) -> str | None:
        """The one-line reason the diffusion renderer was asked for and does not run, else None."""
        return self.status if self.name == "diffusion" and self.pipe is None else None

    def make(self, face):
        """The renderer of a traced face (a ``FaceModel``, which is never changed after tracing):
        the warp renderer is built once per face and shared (it holds no per-avatar state: an
        avatar's carried pose and expression live in ``Avatar.state``)."""
        from warmchat.render.warp import WarpRenderer

        with self._lock:
            hit = self._warps.get(id(face))
            if hit is not None and hit[0] is face:
                self._warps.move_to_end(id(face))
                warp = hit[1]
            else:
                warp = None
        if warp is None:
            warp = WarpRenderer(face, self.warp_cfg)  # outside the lock: two portraits build at once
            with self._lock:
                self._warps[id(face)] = (face, warp)  # the face is held, so its id is not reused
                while len(self._warps) > self._remember:
                    self._warps.popitem(last=False)
        return warp if self.pipe is None else DiffusionRenderer(warp, self.pipe, self.cfg)
