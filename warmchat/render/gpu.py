"""``@gpu``: Hugging Face's ``@spaces.GPU`` on a ZeroGPU Space, nothing anywhere else.

Only the functions that do GPU work wear it (a window of the diffusion renderer), so a ZeroGPU
Space holds a GPU for seconds at a time, not for a whole conversation turn. Off a ZeroGPU Space
``spaces.GPU`` returns the function unchanged; ``spaces`` is imported only there, so the CPU
path never pays for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

# Seconds of GPU a ZeroGPU Space grants one call (a window of 8 frames at 512² and 20 steps).
GPU_SECONDS = int(os.environ.get("WARMCHAT_GPU_SECONDS", "60"))


def on_zero_gpu() -> bool:
    """Whether this process runs on a ZeroGPU Space (Hugging Face sets ``SPACES_ZERO_GPU``)."""
    return bool(os.environ.get("SPACES_ZERO_GPU"))


def gpu(fn: F) -> F:
    """``spaces.GPU(duration=GPU_SECONDS)(fn)`` on a ZeroGPU Space; ``fn`` itself elsewhere."""
    if not on_zero_gpu():
        return fn
    import spaces

    return spaces.GPU(duration=GPU_SECONDS)(fn)
