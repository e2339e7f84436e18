"""The configuration tree: one typed dataclass per concern, joined in ``PipelineConfig``.

``WarmChatPipeline.from_config(PipelineConfig(...))`` builds every component from it;
each nested config lives beside the code it configures and says what each field does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from warmchat.dialogue import LLMConfig
from warmchat.emotion import ClassifierConfig
from warmchat.render.diffusion import DiffusionConfig
from warmchat.render.face import PortraitConfig
from warmchat.render.video import SegmentConfig
from warmchat.render.warp import WarpConfig
from warmchat.speech import ASRConfig, NeuralConfig, TTSConfig
from warmchat.tree import TraversalConfig


@dataclass
class PipelineConfig:
    """Settings of a conversation turn."""

    portrait: PortraitConfig = field(default_factory=PortraitConfig)  # crop size and framing
    warp: WarpConfig = field(default_factory=WarpConfig)  # renderer settings
    renderer: str = "warp"  # "warp" (the CPU mesh warp) or "diffusion" (a GPU and named weights; else warp)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)  # the diffusion renderer's weights
    traversal: TraversalConfig = field(default_factory=TraversalConfig)  # ITT emotion weighting
    agent_voice: str = "heart"  # voice of the agent (left): an eSpeak name, or "heart" / "joe" (neural)
    user_voice: str = "joe"  # voice of the user's avatar (right), the same kinds
    max_message_chars: int = 400  # longer messages are cut at a sentence end, with a notice
    tail_s: float = 0.4  # quiet time after each utterance before the roles switch
    expression_strength: float = 1.0  # scales every emotion shown on the faces
    liveliness: float = 1.0  # scales head motion
    seed: int = 0  # base seed: a turn's randomness comes from (seed, turn number)
    max_user_audio_s: float = 30.0  # longest user recording accepted
    segments: SegmentConfig = field(default_factory=SegmentConfig)  # how clips are cut while rendered
    speaker: str = (
        "learned"  # lips from "learned" (audio2expr model) or "viseme" (hand-made, phoneme timings)
    )
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)  # text emotion
    llm: LLMConfig | None = None  # the chat model; None: from OPENAI_* in the environment (else offline)
    tts: TTSConfig = field(default_factory=TTSConfig)  # eSpeak's rate, pitch and limits
    asr: ASRConfig = field(default_factory=ASRConfig)  # how recorded messages are transcribed
    neural: NeuralConfig = field(default_factory=NeuralConfig)  # the neural voices' models and threads


def from_env() -> PipelineConfig:
    """The app's config: defaults, with the renderer chosen by ``WARMCHAT_RENDERER`` (warp or
    diffusion) and the diffusion weights by ``DiffusionConfig.from_env`` (a Space's settings)."""
    return PipelineConfig(
        renderer=os.environ.get("WARMCHAT_RENDERER", "warp"), diffusion=DiffusionConfig.from_env()
    )
