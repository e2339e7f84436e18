"""The lexicon of strong emotion cues, and the evidence it finds in a text.

Words and phrases per emotion and weight are data (``data/lexicon.json``); the
rules here read them: tokens, phrases first (longest first), negation ("not
happy" counts against happy), intensifiers, exclamation marks and shouting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from warmchat.emotion.state import EMOTIONS, N_EMOTIONS

DATA_DIR = Path(__file__).resolve().parent / "data"


def load_cues(path: Path = DATA_DIR / "lexicon.json") -> dict[str, dict[float, list[str]]]:
    """emotion -> {weight: [cue word or phrase, ...]} from the lexicon file (checked)."""
    raw = json.loads(path.read_text(encoding="utf-8"))["cues"]
    out: dict[str, dict[float, list[str]]] = {}
    for emotion, by_weight in raw.items():
        if emotion not in EMOTIONS:
            raise ValueError(f"{path.name}: unknown emotion {emotion!r}")
        out[emotion] = {}
        for weight, entries in by_weight.items():
            w = float(weight)
            if not 0.0 < w <= 1.0 or not all(isinstance(e, str) and e.strip() for e in entries):
                raise ValueError(
                    f"{path.name}: {emotion} {weight}: weights in (0, 1], entries non-empty text"
                )
            out[emotion][w] = list(entries)
    return out


def _build_lexicon() -> tuple[dict[str, tuple[str, float]], dict[tuple[str, ...], tuple[str, float]]]:
    words: dict[str, tuple[str, float]] = {}
    phrases: dict[tuple[str, ...], tuple[str, float]] = {}
    for emotion, by_weight in load_cues().items():
        for weight, entries in by_weight.items():
            for entry in entries:
                toks = tuple(_tokens(entry))
                table: dict[Any, tuple[str, float]] = phrases if len(toks) > 1 else words
                key = toks if len(toks) > 1 else toks[0]
                # Keep the strongest reading when an entry is listed twice.
                if key not in table or table[key][1] < weight:
                    table[key] = (emotion, weight)
    return words, phrases


_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)*|[!?.,;:]")
_NEGATORS = frozenset(
    ("not", "no", "never", "none", "nothing", "nobody", "neither", "nor", "hardly", "barely")
)
# A negator followed by one of these does not negate what comes next:
# "can't stop crying", "can't help smiling".
_NEGATION_BREAKERS = frozenset(("stop", "help"))
# What a negated cue means, as one word the sentence embedding reads correctly.
_NEGATED_AS = {"happy": "unhappy"}  # every other negated emotion reads as "okay"
_NEGATION_WINDOW = 3  # a cue is negated by a negator at most this many words before it
_INTENSIFIERS = frozenset(
    (
        "so",
        "very",
        "really",
        "extremely",
        "totally",
        "absolutely",
        "incredibly",
        "super",
        "such",
        "truly",
        "utterly",
        "completely",
        "deeply",
        "terribly",
        "awfully",
    )
)
# "so" is a conjunction before these ("so I left"): then it does not intensify.
_NOT_INTENSIFIED = frozenset(
    (
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "it",
        "the",
        "a",
        "an",
        "that",
        "this",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "what",
        "much",
    )
)
_PUNCT = frozenset("!?.,;:")


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower().replace("\u2019", "'").replace("-", " "))


def _is_negator(tok: str) -> bool:
    return tok in _NEGATORS or tok.endswith("n't")


_LEX_WORDS, _LEX_PHRASES = _build_lexicon()
_MAX_PHRASE = max(len(p) for p in _LEX_PHRASES)


@dataclass
class LexiconEvidence:
    """What the cue words say about a text."""

    scores: np.ndarray  # (8,) evidence per emotion; negated cues count against
    n_cues: int  # cues found (negated or not)
    n_words: int  # word tokens (punctuation not counted)
    n_strong: int  # un-negated cues of weight 1
    n_exclaim: int  # "!" count
    n_intensifiers: int
    shouting: bool  # a word of 3+ letters in capitals ("I HATE this")
    # The text with each negated cue and its negator replaced by a plain word
    # ("I'm not scared at all" -> "i'm okay at all"; "not happy" -> "unhappy"), or
    # None when nothing was negated. Sentence embeddings read "not scared" as
    # scared, so the embedding method reads this instead.
    masked: str | None = None


def lexicon_evidence(text: str) -> LexiconEvidence:
    """Scan ``text`` for cue words/phrases, handling negation ("not happy" -> sad).

    A cue preceded within three words (no punctuation between) by a negator
    ("not", "never", "-n't", ...) is negated: negated happiness counts toward
    sad, any other negated emotion toward neutral, and in both cases against
    the cue's own emotion.
    """
    toks = _tokens(text)
    scores = np.zeros(N_EMOTIONS)
    n_cues = n_strong = 0
    swap: dict[int, str] = {}  # token position -> replacement ("" = drop) for negations
    i = 0
    while i < len(toks):
        match: tuple[str, float] | None = None
        span = 1
        for n in range(min(_MAX_PHRASE, len(toks) - i), 1, -1):
            hit = _LEX_PHRASES.get(tuple(toks[i : i + n]))
            if hit is not None:
                match, span = hit, n
                break
        if match is None:
            match = _LEX_WORDS.get(toks[i])
        if match is not None:
            emotion, weight = match
            # Phrases that begin with their own negation ("can't wait", "no way")
            # are not negated again by looking back.
            neg_at = _negator_before(toks, i) if span == 1 else None
            idx = EMOTIONS.index(emotion)
            n_cues += 1
            if neg_at is not None:
                scores[idx] -= weight
                target = "sad" if emotion == "happy" else "neutral"
                scores[EMOTIONS.index(target)] += (0.7 if target == "sad" else 0.5) * weight
                for j in range(neg_at, i):
                    swap[j] = ""
                swap[i] = _NEGATED_AS.get(emotion, "okay")
            else:
                scores[idx] += weight
                n_strong += weight >= 1.0
        i += span
    raw_words = re.findall(r"[A-Za-z]+", text)
    n_int = sum(
        1
        for j, t in enumerate(toks[:-1])
        if t in _INTENSIFIERS
        and toks[j + 1] not in _PUNCT
        and not (t == "so" and toks[j + 1] in _NOT_INTENSIFIED)
    )
    return LexiconEvidence(
        scores=scores,
        n_cues=n_cues,
        n_words=sum(t not in _PUNCT for t in toks),
        n_strong=int(n_strong),
        n_exclaim=text.count("!"),
        n_intensifiers=n_int,
        shouting=any(len(w) >= 3 and w.isupper() for w in raw_words),
        masked=" ".join(w for w in (swap.get(j, t) for j, t in enumerate(toks)) if w) if swap else None,
    )


def _negator_before(toks: list[str], i: int) -> int | None:
    """Position of a negator that negates the cue at ``i``, or None."""
    for j in range(i - 1, max(-1, i - 1 - _NEGATION_WINDOW), -1):
        if toks[j] in _PUNCT:
            return None
        if _is_negator(toks[j]):
            breaks = j + 1 < len(toks) and toks[j + 1] in _NEGATION_BREAKERS
            return None if breaks else j
    return None
