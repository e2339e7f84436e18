"""The diffusion renderer's cost, with random weights of the real architecture (nothing fetched).

    python -m warmchat.bench.diffusion [--size tiny|sd15] [--frames 16] [--resolution 512] [--device cuda]

``--size sd15`` builds Stable Diffusion 1.5's UNet, VAE and text encoder and a ControlNet copied
from the UNet, at their real sizes with random weights: the time per frame and the memory are
those of the real models (the pictures are noise). ``--size tiny`` is the tests' pipeline. It
reports seconds per frame and peak GPU memory, for the README; a GPU machine reached without
the internet can run it as it is.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def _tokenizer(folder: Path, max_length: int):
    """A character-level CLIP tokenizer: enough to tokenise prompts, nothing to download."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz,.":
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=max_length)


def random_pipeline(size: str = "tiny", folder: Path | None = None, seed: int = 0):
    """A real ``StableDiffusionControlNetInpaintPipeline`` of random models: "tiny" (the tests':
    64² frames in a second on a CPU) or "sd15" (Stable Diffusion 1.5's architecture)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        DDIMScheduler,
        StableDiffusionControlNetInpaintPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    if size == "tiny":
        tokens, width = 16, 16
        blocks = {"block_out_channels": (8, 16), "layers_per_block": 1, "norm_num_groups": 4}
        kinds = {"down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D")}
        unet = UNet2DConditionModel(sample_size=8, up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
                                    cross_attention_dim=width, attention_head_dim=2, **blocks, **kinds)  # fmt: skip
        controlnet = ControlNetModel(conditioning_embedding_out_channels=(4, 8), cross_attention_dim=width,
                                     attention_head_dim=2, **blocks, **kinds)  # fmt: skip
        vae = AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                            block_out_channels=(8, 16), norm_num_groups=4, latent_channels=4)  # fmt: skip
        text = {
            "hidden_size": width,
            "intermediate_size": 32,
            "num_attention_heads": 2,
            "num_hidden_layers": 2,
        }
    elif size == "sd15":
        tokens, width = 77, 768
        # Stable Diffusion 1.5's UNet and VAE are diffusers' default configs at these sizes.
        unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=width, attention_head_dim=8)
        controlnet = ControlNetModel.from_unet(unet)
        vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
                            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)  # fmt: skip
        text = {
            "hidden_size": width,
            "intermediate_size": 3072,
            "num_attention_heads": 12,
            "num_hidden_layers": 12,
        }
    else:
        raise ValueError(f"size must be tiny or sd15, got {size!r}")
    if folder is None:  # the tokenizer keeps its vocabulary in memory: its files need not stay
        with tempfile.TemporaryDirectory(prefix="warmchat-tok-") as tmp:
            tokenizer = _tokenizer(Path(tmp), tokens)
    else:
        tokenizer = _tokenizer(Path(folder), tokens)
    encoder = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=1, vocab_size=len(tokenizer),
                                           max_position_embeddings=tokens, **text))  # fmt: skip
    scheduler = DDIMScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False
    )
    pipe = StableDiffusionControlNetInpaintPipeline(
        vae=vae, text_encoder=encoder, tokenizer=tokenizer, unet=unet, controlnet=controlnet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run(size: str, frames: int, resolution: int, device: str, steps: int) -> dict:
    """Seconds per frame (after a warm-up window) and peak GPU memory for ``frames`` frames."""
    import torch

    from warmchat.emotion import EmotionState
    from warmchat.motion.crhmg import REST_POSE
    from warmchat.motion.presets import emotion_expression
    from warmchat.paths import DEFAULT_AGENT_PORTRAIT
    from warmchat.render.diffusion import DiffusionConfig, DiffusionRenderer
    from warmchat.render.tracer import FaceTracer
    from warmchat.render.warp import WarpRenderer

    t0 = time.perf_counter()
    dtype = torch.float16 if device == "cuda" else torch.float32
    pipe = random_pipeline(size).to(device, dtype)
    built = time.perf_counter() - t0
    cfg = DiffusionConfig(resolution=resolution, steps=steps, device=device)
    warp = WarpRenderer(FaceTracer().trace(DEFAULT_AGENT_PORTRAIT))
    r = DiffusionRenderer(warp, pipe, cfg)
    expr = np.stack([emotion_expression(EmotionState.of("happy", 0.6))] * frames)
    expr[:, 0] = 0.4 * np.sin(np.linspace(0, 6, frames)) ** 2  # some mouth motion
    poses = np.tile(REST_POSE, (frames, 1))
    poses[:, 0] = 8.0 * np.sin(np.linspace(0, 3, frames))  # and the head turning
    list(r.render_many(expr[: cfg.window], poses[: cfg.window]))  # warm-up: kernels, allocator
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    out = list(r.render_many(expr, poses))
    if device == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t
    return {
        "size": size,
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "dtype": str(dtype).replace("torch.", ""),
        "resolution": resolution,
        "steps": steps,
        "strength": cfg.strength,
        "window": cfg.window,
        "overlap": cfg.overlap,
        "frames": len(out),
        "s_per_frame": secs / len(out),
        "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
        "build_s": built,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m warmchat.bench.diffusion", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--size", choices=("tiny", "sd15"), default="sd15")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--resolution", type=int, default=512)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.size, args.frames, args.resolution, args.device, args.steps), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
