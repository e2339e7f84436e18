"""The diffusion renderer, the diffusers way: tiny random-config models built in code
(``warmchat.bench.diffusion.random_pipeline``: no download, no GPU), 2 steps at 64², through the
real ``StableDiffusionControlNetInpaintPipeline``."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from conftest import REST_POSE, expression

from warmchat.bench.diffusion import random_pipeline
from warmchat.paths import REPO_DIR
from warmchat.render.diffusion import (
    DiffusionConfig,
    DiffusionRenderer,
    Renderers,
    choose_renderer,
    crossfade,
    draw_face_mesh,
    head_mask,
    window_starts,
)

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")


TINY = {"resolution": 64, "steps": 2, "strength": 0.5, "window": 4, "overlap": 1, "device": "cpu",
        "prompt": "a face", "negative_prompt": "a blur"}  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return random_pipeline("tiny", tmp_path_factory.mktemp("tiny"))


def _track(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A mouth opening and closing over ``n`` frames, the head turning a little."""
    exprs = np.stack([expression(jawOpen=0.5 * np.sin(np.pi * t / n) ** 2) for t in range(n)])
    poses = np.stack([REST_POSE + np.array([2.0 * t / n, 0, 0, 0, 0, 0]) for t in range(n)])
    return exprs, poses


def test_diffusion_renders_frames_through_the_real_pipeline(tiny, astronaut_renderer):
    cfg = DiffusionConfig(**TINY)
    r = DiffusionRenderer(astronaut_renderer, tiny, cfg)
    exprs, poses = _track(7)
    frames = list(r.render_many(exprs, poses))
    s = astronaut_renderer.size
    assert len(frames) == 7 and all(f.shape == (s, s, 3) and f.dtype == np.uint8 for f in frames)
    warped = [astronaut_renderer.render(e, p) for e, p in zip(exprs, poses)]
    for f, w, lm in zip(frames, warped, (astronaut_renderer.landmarks(e, p) for e, p in zip(exprs, poses))):
        mask = head_mask(lm, s)
        # Outside the head the warp frame is kept exactly; inside it was repainted (random weights
        # paint noise, so the head differs a lot).
        assert np.array_equal(f[mask == 0], w[mask == 0])
        assert np.abs(f[mask > 0.99].astype(int) - w[mask > 0.99]).mean() > 5
    # One seed, one video: the same track renders the same frames; another seed other ones.
    again = list(DiffusionRenderer(astronaut_renderer, tiny, cfg).render_many(exprs, poses))
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))
    other = list(
        DiffusionRenderer(astronaut_renderer, tiny, DiffusionConfig(**{**TINY, "seed": 1})).render_many(
            exprs, poses
        )
    )
    assert not np.array_equal(frames[0], other[0])
    # One frame at a time (``render``) is a window of one; no frames, nothing to diffuse.
    assert r.render(exprs[0], poses[0]).shape == (s, s, 3)
    assert list(r.render_many(exprs[:0], poses[:0])) == []


def test_windows_cover_every_frame_and_fade_into_each_other():
    assert window_starts(7, 4, 1) == [0, 3]  # frames 0-3 and 3-6: frame 3 in both
    assert window_starts(8, 4, 1) == [0, 3, 6]  # and 6-7
    assert window_starts(4, 4, 1) == [0] and window_starts(1, 8, 2) == [0]
    for n, w, o in [(7, 4, 1), (20, 8, 2), (9, 3, 2), (5, 8, 0)]:
        starts = window_starts(n, w, o)
        covered = set().union(*(range(s, min(s + w, n)) for s in starts))
        assert covered == set(range(n)), (n, w, o)
        assert all(b - a == w - o for a, b in itertools.pairwise(starts))
    tail, head = np.zeros((2, 3)), np.ones((2, 3))
    np.testing.assert_allclose(crossfade(tail, head)[:, 0], [1 / 3, 2 / 3])  # a ramp, not a jump


def test_blending_windows_smooths_the_seam(tiny, astronaut_renderer):
    # The same frames in windows of 3 with and without an overlap: each window has noise of its
    # own, and where windows meet the fade makes the frames change less from one to the next.
    exprs, poses = _track(6)

    def seam_jump(overlap: int) -> float:
        r = DiffusionRenderer(astronaut_renderer, tiny, DiffusionConfig(**{**TINY, "window": 3, "overlap": overlap,
                                                                              "seed": 3}))  # fmt: skip
        f = np.stack(list(r.render_many(exprs, poses))).astype(float)
        return float(np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3)).max())  # the biggest step

    assert seam_jump(1) < seam_jump(0)


def test_the_face_mesh_drawing_and_the_head_mask(astronaut_renderer):
    lm = astronaut_renderer.lm[:, :2]
    s = astronaut_renderer.size
    mesh = draw_face_mesh(lm, s, 128)
    assert mesh.shape == (128, 128, 3) and mesh.any()
    # Drawn where the face is, black elsewhere; the brows in MediaPipe's red.
    x0, y0 = (lm.min(0) * 128 / s).astype(int)
    x1, y1 = (lm.max(0) * 128 / s).astype(int)
    assert mesh[y0 : y1 + 1, x0 : x1 + 1].any() and not mesh[:, : max(x0 - 3, 0)].any()
    assert ((mesh[..., 0] > 200) & (mesh[..., 1] < 100)).sum() > 10
    mask = head_mask(lm, s)
    cx, cy = lm.mean(0).astype(int)
    assert mask[cy, cx] == pytest.approx(1.0) and mask[0, 0] == 0.0 and mask.max() <= 1.0


def test_without_weights_or_a_gpu_the_warp_renderer_runs_and_says_why(tmp_path):
    pipe, why = choose_renderer("diffusion", DiffusionConfig())
    assert pipe is None and "no weights named" in why and "--diffusion-model" in why
    if not torch.cuda.is_available():
        pipe, why = choose_renderer("diffusion", DiffusionConfig(model="a/b", controlnet="c/d"))
        assert pipe is None and "no CUDA GPU" in why
    pipe, why = choose_renderer(
        "diffusion", DiffusionConfig(model=str(tmp_path / "none"), controlnet="c/d", device="cpu")
    )
    assert pipe is None and "could not be found locally" in why  # never a download
    assert choose_renderer("warp", DiffusionConfig()) == (None, "mesh warp on the CPU")
    assert Renderers("warp", None, DiffusionConfig()).fallback is None
    with pytest.raises(ValueError, match="window"):
        DiffusionConfig(window=4, overlap=4)


def test_named_local_weights_load_once_and_render(tiny, tmp_path, astronaut_face):
    tiny.save_pretrained(tmp_path / "sd")
    tiny.controlnet.save_pretrained(tmp_path / "cn")
    cfg = DiffusionConfig(model=str(tmp_path / "sd"), controlnet=str(tmp_path / "cn"), **TINY)
    made = Renderers("diffusion", None, cfg)
    assert made.fallback is None and made.status.startswith("diffusion (sd + ControlNet cn, cpu)")
    assert Renderers("diffusion", None, cfg).pipe is made.pipe  # loaded once per process
    r = made.make(astronaut_face)
    assert isinstance(r, DiffusionRenderer)
    exprs, poses = _track(2)
    assert len(list(r.render_many(exprs, poses))) == 2


@pytest.mark.slow
def test_say_with_the_diffusion_renderer_and_no_weights_falls_back_in_one_line(tmp_path):
    out = tmp_path / "a.mp4"
    res = subprocess.run(
        [sys.executable, "-m", "warmchat", "say", "--portrait", str(REPO_DIR / "assets/portraits/astronaut.png"),
         "--text", "Hello.", "--renderer", "diffusion", "--out", str(out)],
        capture_output=True, text=True, cwd=REPO_DIR, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    notes = [ln for ln in res.stderr.splitlines() if ln.startswith("note: renderer:")]
    assert len(notes) == 1 and "no weights named" in notes[0], res.stderr
    assert "Traceback" not in res.stderr and out.stat().st_size > 5_000


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_tiny_pipeline_on_the_gpu_in_half_precision(tiny, astronaut_renderer):
    pipe = tiny.to("cuda", torch.float16)
    try:
        r = DiffusionRenderer(astronaut_renderer, pipe, DiffusionConfig(**{**TINY, "device": "cuda"}))
        exprs, poses = _track(5)
        frames = list(r.render_many(exprs, poses))
        assert len(frames) == 5 and all(np.isfinite(f).all() for f in frames)
    finally:
        tiny.to("cpu", torch.float32)


def test_the_app_config_names_the_renderer_and_status_says_why_it_falls_back(monkeypatch):
    from warmchat.config import from_env
    from warmchat.pipeline import WarmChatPipeline

    monkeypatch.setenv("WARMCHAT_RENDERER", "diffusion")
    monkeypatch.setenv("WARMCHAT_CONTROLNET", "CrucibleAI/ControlNetMediaPipeFace")
    monkeypatch.delenv("WARMCHAT_DIFFUSION_MODEL", raising=False)
    cfg = from_env()
    assert cfg.renderer == "diffusion" and cfg.diffusion.controlnet == "CrucibleAI/ControlNetMediaPipeFace"
    pipe = WarmChatPipeline(cfg)
    assert pipe.renderers.fallback and "no weights named" in pipe.status()["renderer"]
    monkeypatch.delenv("WARMCHAT_RENDERER")
    assert WarmChatPipeline(from_env()).renderers.status == "mesh warp on the CPU"
