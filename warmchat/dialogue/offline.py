"""The offline dialogue engine: template replies that stay on topic, no network, no model.

How a reply is made (``OfflineEngine.reply``):

1. Read the last message (``analysis.analyse``): intent (greeting, farewell, thanks,
   yes/no or wh- question, opinion, a compliment or insult to the agent, statement),
   question frame ("how are you",
   "favourite X", "what do you love about X", ...), topic phrase and the speaker's
   "I ..." clause, both turned around to the replier's view ("my dog Max" ->
   "your dog Max").
2. Classify the message's emotion with the text classifier (injectable; by
   default ``warmchat.emotion.get_text_classifier()``) and reduce it to a group
   (happy, sad, fearful, angry, surprised, disgusted, neutral).
3. Compose the reply from sentence pools (``templates.POOLS``) per part, intent,
   emotion group and persona style: empathise with sad or fearful messages, share
   joy with happy ones, validate anger, be curious about surprises; answer questions
   in the shape they ask for; usually end with a follow-up question that names the
   topic. A message with no topic of its own keeps the conversation's last topic; a
   neutral-sounding message right after a sad or worried one keeps the gentle tone.
4. Prefer candidates that reuse no sentence and no template wording already used in
   the conversation (by either speaker); never repeat one of the agent's own replies
   verbatim. Candidates come from the same seeded random stream.
5. Pick the agent's emotion from the user's (sad -> gently sad, happy -> happy,
   angry -> calm, never angry back) and blend in a little of the dialogue's
   cumulative mood.

Replies are deterministic for a given seed: each call seeds a fresh
``random.Random`` from the seed, the history length, the persona's name and the
message, so successive turns differ while a rerun reproduces them. ``seed=None``
draws fresh entropy.

The same engine drives agent <-> agent conversations: each persona sees the
other's lines as "user" lines (``base.swap_roles``), and every follow-up question
the engine asks falls into a question frame it can answer itself.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import string
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from warmchat.dialogue.analysis import (
    Analysis,
    Topic,
    analyse,
    find_topic,
    normalise,
    question_frame,
    sentences,
)
from warmchat.dialogue.base import STYLES, Persona, Reply, Utterance
from warmchat.dialogue.templates import FAVOURITES, FRESH_TOPICS, POOLS
from warmchat.emotion import EMOTIONS, EmotionState, mix

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger(__name__)


class TextClassifier(Protocol):
    """Anything that labels a text with an emotion (``warmchat.emotion`` provides one)."""

    def classify(self, text: str) -> EmotionState: ...


# Emotion of the other speaker -> the template group that answers it. Contempt is met
# like anger: validate, don't mirror.
_GROUP: dict[str, str] = {
    "neutral": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "surprised": "surprised",
    "fearful": "fearful",
    "disgusted": "disgusted",
    "contempt": "angry",
}

# Template group -> the agent's emotion: (distribution, base intensity, gain with the
# other speaker's intensity). Sadness is met with gentle sadness, joy with joy, anger
# with calm (neutral with a touch of sadness): the agent never answers anger with anger.
_RESPONSE: dict[str, tuple[dict[str, float], float, float]] = {
    "happy": ({"happy": 1.0}, 0.45, 0.4),
    "sad": ({"sad": 0.7, "neutral": 0.3}, 0.35, 0.25),
    "fearful": ({"sad": 0.45, "fearful": 0.25, "neutral": 0.3}, 0.35, 0.2),
    "angry": ({"neutral": 0.65, "sad": 0.35}, 0.3, 0.1),
    "surprised": ({"surprised": 0.6, "happy": 0.4}, 0.4, 0.3),
    "disgusted": ({"disgusted": 0.55, "neutral": 0.45}, 0.3, 0.15),
}
# A neutral message gets the persona's resting friendliness.
_NEUTRAL_RESPONSE: dict[str, tuple[dict[str, float], float, float]] = {
    "warm": ({"neutral": 0.55, "happy": 0.45}, 0.4, 0.0),
    "playful": ({"happy": 0.6, "neutral": 0.4}, 0.45, 0.0),
    "calm": ({"neutral": 0.8, "happy": 0.2}, 0.3, 0.0),
}
# Persona style scales how strongly the face shows it.
_STYLE_GAIN: dict[str, float] = {"warm": 1.0, "playful": 1.15, "calm": 0.8}
# Classifications remembered per engine.
_CACHE_SIZE = 512
# Disgust and contempt are the labels a text classifier most often gives to plain
# sentences; answering "Ew!" to a harmless line is jarring, so they need more evidence.
_CONFIDENCE: dict[str, float] = {"disgusted": 0.6, "contempt": 0.6}
# Feelings that carry over to a following neutral-sounding message.
_CARRIED = ("sad", "fearful", "angry")
# Least probability of the top emotion for the engine to react to it (see ``_group_of``).
MIN_CONFIDENCE = 0.4
# How much of the dialogue's cumulative mood colours the agent's emotion.
MOOD_WEIGHT = 0.2
# Emotions the agent does not take over from the mood (it stays calm, not hostile).
_HOSTILE = ("angry", "disgusted", "contempt")

# Question frames about the agent itself: no topic needed, no emotional opener.
_SELF_FRAMES = frozenset(
    "how_are_you identity age where_live what_do_you_do are_you_ai joke whats_up "
    "on_mind are_you_ok about_you".split()
)
# "How are you?"-type questions, answered and handed back once, not forever.
_CHECK_IN_FRAMES = frozenset(("how_are_you", "whats_up", "feeling", "are_you_ok", "about_you"))
# Frames whose answer shares something the agent enjoys (it smiles while answering).
_HAPPY_FRAMES = frozenset(
    "favourite love_about do_you_like best_part celebrate joke origin special whats_up".split()
)
# Frames after which a light personal aside ("share") fits: talk about a pastime.
_SHARE_FRAMES = frozenset(
    "love_about do_you_like opinion_q origin have_you tell_more best_part special".split()
)
# Questions both speakers can answer in turn, so "And you?" may follow the answer.
_MUTUAL_FRAMES = frozenset(
    "hobby do_you_like favourite love_about opinion_q origin have_you tell_more best_part "
    "special plans duration celebrate who reaction why".split()
)
# Frames whose answer shares something hard.
_SAD_FRAMES = frozenset("hardest_part worry bothered".split())

_UNCLEAR = (
    "Sorry, I didn't quite catch that. Could you say it again?",
    "Hmm, I missed that. What did you say?",
    "I'm not sure I heard you. Could you tell me again?",
)

# Words that stand in for a topic in a filled template; they are not a topic themselves.
_STAND_INS = frozenset(("it", "that", "this", "them", "they"))

_PUNCT_RE = re.compile(r"[^a-z0-9 ]+")


def _norm(text: str) -> str:
    """Comparison key for "the same sentence": lower case, letters and digits only."""
    return " ".join(_PUNCT_RE.sub(" ", text.lower()).split())


def _state(dist: Mapping[str, float], intensity: float) -> EmotionState:
    vec = np.array([dist.get(name, 0.0) for name in EMOTIONS])
    return EmotionState(vec, intensity)


def _style(persona: Persona) -> str:
    return persona.style if persona.style in STYLES else "warm"


@dataclass
class _Context:
    """Everything the composer needs for one reply."""

    persona: Persona
    style: str
    analysis: Analysis
    group: str  # template group of the other speaker's emotion
    intensity: float  # the other speaker's emotion intensity
    topic: str | None  # topic phrase from the replier's view
    mood_low: bool  # the conversation's mood is low (answers "how are you" honestly)
    fresh: str  # a new topic to bring up if asked what's on the agent's mind
    history: list[Utterance]  # the conversation so far (for "what about you?")
    picked: list[str] = field(default_factory=list)  # template keys used by this candidate
    answered: str | None = None  # the question frame actually answered (after "And you?")


class OfflineEngine:
    """Template dialogue engine with no network and no model downloads.

    ``classifier`` labels messages with an emotion; it defaults to
    ``warmchat.emotion.get_text_classifier()``, loaded on first use.
    """

    name = "offline"

    def __init__(self, classifier: TextClassifier | None = None) -> None:
        self._classifier = classifier
        self._cache: dict[str, EmotionState] = {}
        self._cache_lock = threading.Lock()

    @property
    def classifier(self) -> TextClassifier:
        """The text-emotion classifier (the package default is loaded on first use)."""
        if self._classifier is None:
            # Imported here: the classifier is heavy and only needed once a message comes.
            from warmchat.emotion import get_text_classifier

            self._classifier = get_text_classifier()
        return self._classifier

    def classify(self, text: str) -> EmotionState:
        """The emotion of ``text`` according to the engine's classifier (memoised).

        A conversation classifies the same lines again (the feeling carried over from
        the previous message), and an embedding forward pass is the costliest step.
        """
        key = text.strip()
        with self._cache_lock:
            hit = self._cache.get(key)
        if hit is not None:
            return EmotionState(hit.dist.copy(), hit.intensity)
        state = self.classifier.classify(key)
        with self._cache_lock:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))  # oldest first: dicts keep order
            self._cache[key] = state
        return EmotionState(state.dist.copy(), state.intensity)

    # --- public API ---------------------------------------------------------------------

    def reply(
        self,
        history: list[Utterance],
        persona: Persona,
        mood: EmotionState | None = None,
        seed: int | None = None,
    ) -> Reply:
        """Answer ``history[-1]`` as ``persona``; see the module docstring for how."""
        if not history:
            return opening_line(persona, None, seed)
        message = history[-1].text.strip()
        rng = _rng(seed, len(history), persona, message)
        style = _style(persona)
        if not any(ch.isalnum() for ch in message):
            text = _unique([_UNCLEAR[i % len(_UNCLEAR)] for i in range(len(_UNCLEAR))], history)
            return Reply(text, _finish(({"neutral": 1.0}, 0.3, 0.0), 0.0, style, mood), "offline")

        user_emotion = history[-1].emotion or self.classify(message)
        question_only = all(x.rstrip().endswith("?") for x in sentences(message))
        group, intensity = _group_of(user_emotion, question_only)
        a = analyse(message)
        if group == "neutral" and a.intent not in ("greeting", "farewell", "compliment"):
            # "He's 12 and the vet says it's his heart" reads neutral on its own, but
            # follows a worried message: the feeling carries over, a little weaker.
            group, intensity = self._carried(history, mood) or (group, intensity)
        names = _names(history)
        a.topic = _topic_of(message, a.intent in ("yesno", "wh"), names)
        ctx = _Context(
            persona=persona,
            style=style,
            analysis=a,
            group=group,
            intensity=intensity,
            topic=_choose_topic(a, history, names),
            mood_low=mood is not None
            and mood.dominant in ("sad", "fearful", "angry")
            and mood.intensity >= 0.3,
            fresh=rng.choice(FRESH_TOPICS),
            history=history,
        )
        text = self._compose_unique(ctx, history, rng)
        log.debug(
            "offline reply: intent=%s frame=%s group=%s topic=%r",
            a.intent,
            a.frame,
            group,
            ctx.topic,
        )
        return Reply(text, _agent_emotion(ctx, mood), "offline")

    def _carried(self, history: list[Utterance], mood: EmotionState | None) -> tuple[str, float] | None:
        """A distressed group (sad, fearful, angry) that still holds from earlier, if any.

        Looked for in the dialogue's mood, then in the other speaker's previous line.
        """
        earlier = [u for u in history[:-1] if u.role == "user"]
        sources = [mood] if mood is not None else []
        if earlier:
            sources.append(earlier[-1].emotion or self.classify(earlier[-1].text))
        happy = EMOTIONS.index("happy")
        for state in sources:
            # The strongest feeling other than neutral: a mood that is over a third sad
            # (and clearly more sad than happy) is sad enough to keep the reply gentle.
            dist = state.dist.copy()
            dist[EMOTIONS.index("neutral")] = 0.0
            top = float(dist.max())
            group = _GROUP[EMOTIONS[int(np.argmax(dist))]]
            clear = top >= 0.35 and top >= 1.5 * float(state.dist[happy])
            if group in _CARRIED and clear and state.intensity >= 0.25:
                return group, 0.8 * state.intensity
        return None

    # --- composition -----------------------------------------------------------------------

    def _compose_unique(self, ctx: _Context, history: list[Utterance], rng: random.Random) -> str:
        """Compose until no sentence repeats one already said; never repeat a whole reply."""
        said = {_norm(s) for u in history for s in sentences(u.text)}
        own = {_norm(u.text) for u in history if u.role == "agent"}
        # Wordings already used by either speaker, even with another topic filled in:
        # "I got into it by accident" after "I got into cooking by accident" is a repeat.
        used = {found[0] for u in history for s in sentences(u.text) if (found := _template_of(s))}
        best: tuple[int, str] | None = None
        for _ in range(40):
            ctx.picked = []
            text = _join(self._compose(ctx, rng))
            if _norm(text) in own:
                continue
            reused = sum(_norm(s) in said for s in sentences(text))
            reused += sum(k in used for k in ctx.picked)
            # "Honestly, ... Honestly, ...": two sentences opening alike read as canned.
            starts = [s.split()[0].strip(",.!?").lower() for s in sentences(text) if s.split()]
            reused += len(starts) - len(set(starts))
            if reused == 0:
                return text
            if best is None or reused < best[0]:
                best = (reused, text)
        base = best[1] if best else _join(self._compose(ctx, rng))
        return _unique([base], history, rng)

    def _compose(self, ctx: _Context, rng: random.Random) -> list[str]:
        a = ctx.analysis
        intent = a.intent
        if intent == "opinion" and ctx.group in ("sad", "fearful"):
            intent = "statement"  # "I hate that I failed": comfort first, debate never
        parts: list[str] = []
        first_words = not any(u.role == "agent" for u in ctx.history[:-1])
        if a.greeted and first_words and intent not in ("greeting", "farewell"):
            parts.append(_pick(rng, "greet.short", ctx))
        if intent == "greeting":
            parts += [_pick(rng, "greet", ctx), _pick(rng, "greet.follow", ctx)]
        elif intent == "farewell":
            parts.append(_pick(rng, "bye", ctx))
            if ctx.group in ("sad", "fearful"):
                parts.append(_pick(rng, "bye.wish.sad", ctx))
            elif rng.random() < 0.6:
                parts.append(_pick(rng, "bye.wish", ctx))
        elif intent == "thanks":
            parts.append(_pick(rng, "thanks", ctx))
            if rng.random() < 0.6:
                key = "follow.thanks"
                if ctx.group in _CARRIED:
                    key = f"follow.{ctx.group}"  # thanked in a hard moment: keep caring
                parts.append(_pick(rng, key, ctx))
        elif intent in ("yesno", "wh"):
            parts += self._answer(ctx, rng)
        elif intent in ("compliment", "insult"):
            parts.append(_pick(rng, intent, ctx))
            if intent == "insult" or rng.random() < 0.5:
                key = "follow.insult" if intent == "insult" else "follow.thanks"
                parts.append(_pick(rng, key, ctx))
        elif intent == "opinion":
            key = "opinion.neg" if a.negative_opinion else "opinion.pos"
            parts.append(_pick(rng, key, ctx))
            follow = "follow.opinion" if rng.random() < 0.5 else "follow.neutral"
            parts.append(_pick(rng, follow, ctx))
        else:
            parts += self._statement(ctx, rng)
        if ctx.topic and intent in ("statement", "opinion") and not _mentions(parts, ctx.topic):
            # Staying on topic is the point: name it in the follow-up question.
            follow = _pick(rng, f"follow.{ctx.group}", ctx, need_topic=True) or _pick(
                rng, "follow.neutral", ctx, need_topic=True
            )
            if not follow:
                pass  # the topic is the replier's own: no question about it
            elif parts and parts[-1].endswith("?"):
                parts[-1] = follow
            else:
                parts.append(follow)
        return [p for p in parts if p]

    def _statement(self, ctx: _Context, rng: random.Random) -> list[str]:
        g = ctx.group
        r = rng.random()
        if r < 0.5:
            shape = ("open", "core", "follow")
        elif r < 0.7:
            shape = ("open", "follow")
        elif r < 0.85:
            shape = ("core", "follow")
        else:
            shape = ("open", "core")
        return [_pick(rng, f"{part}.{g}", ctx) for part in shape]

    def _answer(self, ctx: _Context, rng: random.Random) -> list[str]:
        a = ctx.analysis
        frame, arg = a.frame, a.frame_arg
        topic = ctx.topic
        if frame == "about_you":
            # "What about you?": answer our own last question ourselves.
            frame, arg, topic = _own_last_question(ctx)
        ctx.answered = frame
        parts: list[str] = []
        # A question asked in distress gets a word of comfort before the answer; a happy
        # one needs no "That's fantastic!" before it.
        emotional = ctx.group in ("sad", "fearful", "angry", "disgusted") and ctx.intensity >= 0.5
        if emotional and frame not in _SELF_FRAMES and rng.random() < 0.7:
            parts.append(_pick(rng, f"open.{ctx.group}", ctx))
        sub = replace(ctx, topic=topic)  # shares ``picked`` with ctx
        # The question just named the topic: the answer may say "it", as people do.
        said = _pronoun(topic) if topic and _norm(topic) in _norm(_asked(ctx)) else None
        answer_ctx = replace(sub, topic=said) if said and rng.random() < 0.6 else sub
        parts.append(_answer_line(frame, arg, a.intent, answer_ctx, rng))
        light = ctx.group in ("neutral", "happy") and frame in _SHARE_FRAMES
        if light and rng.random() < 0.35:
            parts.append(_pick(rng, "share", answer_ctx))
        # Hand the turn back so the conversation keeps going.
        r = rng.random()
        if frame in _CHECK_IN_FRAMES:
            if _asked_last(ctx) & _CHECK_IN_FRAMES:
                # They were answering our "how are you?": don't bounce it back again.
                group = ctx.group if ctx.group in _CARRIED else "neutral"
                if ctx.topic and r < 0.8:
                    parts.append(_pick(rng, f"follow.{group}", ctx, need_topic=True))
            elif r < 0.8:
                parts.append(_pick(rng, "back.how_are_you", ctx))
        elif frame == "identity":
            if r < 0.6:
                parts.append(_pick(rng, "back.identity", ctx))
        elif frame == "joke":
            pass
        elif frame in ("are_you_ai", "on_mind"):
            pass  # the answer says enough (or brings up a new topic itself)
        elif frame in ("age", "where_live", "what_do_you_do"):
            if r < 0.6:
                parts.append(_pick(rng, "back.generic", ctx))
        elif frame == "advice":
            if r < 0.7:
                parts.append(_pick(rng, "follow.advice", ctx))
        elif frame in ("favourite", "hobby"):
            if r < 0.75 and a.frame != "about_you":
                parts.append(_pick(rng, "back.generic", ctx))
        elif r < 0.4 and frame in _MUTUAL_FRAMES and a.frame != "about_you":
            # "And you?" suits a question both can answer; after "And you?" it would loop.
            parts.append(_pick(rng, "back.generic", ctx))
        elif r < 0.85:
            # Comfort stays in the follow-up; otherwise plain curiosity about the topic.
            group = ctx.group if ctx.group in ("sad", "fearful", "angry") else "neutral"
            parts.append(_pick(rng, f"follow.{group}", sub))
        return parts


def _asked_last(ctx: _Context) -> set[str | None]:
    """Frames of the questions in this persona's previous line."""
    for u in reversed(ctx.history[:-1]):
        if u.role == "agent":
            return {question_frame(q)[0] for q in sentences(u.text) if q.rstrip().endswith("?")}
    return set()


def _asked(ctx: _Context) -> str:
    """The question sentence being answered (the last one of the message)."""
    text = ctx.history[-1].text if ctx.history else ""
    asked = [s for s in sentences(text) if s.rstrip().endswith("?")]
    return asked[-1] if asked else text


def _pronoun(topic: str) -> str | None:
    """Return "it" for a singular common-noun topic; None for names and plurals."""
    if any(w[:1].isupper() for w in topic.split()) or _is_plural(topic):
        return None
    return "it"


def _rng(seed: int | None, n_history: int, persona: Persona, message: str) -> random.Random:
    """A fresh generator per call: same seed + same conversation state -> same reply."""
    if seed is None:
        return random.Random()
    # A string seed is hashed with SHA-512 by ``random``: stable across runs and machines.
    return random.Random(f"{seed}|{n_history}|{persona.name}|{message}")


def _group_of(state: EmotionState, question_only: bool) -> tuple[str, float]:
    """Template group and intensity of the other speaker's emotion.

    Only a confident label counts (probability >= ``MIN_CONFIDENCE``, more for a
    message that is nothing but questions, which text classifiers read poorly):
    reacting with "Ew, that sounds awful!" to a misread question is far worse than
    reacting neutrally to a mildly emotional one.
    """
    name = state.dominant
    p = float(state.dist.max())
    need = _CONFIDENCE.get(name, MIN_CONFIDENCE) + (0.15 if question_only else 0.0)
    if name != "neutral" and (p < need or state.intensity < 0.15):
        name = "neutral"
    return _GROUP[name], float(state.intensity)


def _choose_topic(a: Analysis, history: list[Utterance], names: frozenset[str]) -> str | None:
    """This message's topic if it has a clear one, else the conversation's latest topic."""
    if a.topic is not None and a.topic.score >= 3.0:
        return a.topic.text(reflect=True)
    for u in reversed(history[-7:-1]):
        t = _topic_of(u.text, False, names)
        if t is not None and t.score >= 3.0:
            # The other speaker's words are turned around; our own are already ours.
            return t.text(reflect=u.role == "user")
    return a.topic.text(reflect=True) if a.topic is not None else None


def _compile_template(sentence: str) -> re.Pattern[str]:
    """A regex that matches a filled-in template sentence and captures its topic."""
    pattern = re.escape(normalise(sentence))
    seen: set[str] = set()

    def slot(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in ("topic", "Topic", "fresh"):
            group = "T" if name == "Topic" else "t"
            if group in seen:
                return f"(?P={group})"
            seen.add(group)
            return f"(?P<{group}>.+?)"
        return ".+?"

    return re.compile(re.sub(r"\\\{(\w+)\\\}", slot, pattern), re.IGNORECASE)


def _template_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(key, regex) for every template sentence, most specific (longest wording) first.

    They let the engine read its own sentences exactly in agent <-> agent talk: the
    topic slot is the topic, the rest is wording. Sentences with little fixed wording
    ("{Topic}?") would match anything and are left out.
    """
    found: dict[str, str] = {}
    for pool in POOLS.values():
        for lines in pool.values():
            for line in lines:
                for sent in sentences(line):
                    fixed = re.sub(r"\{\w+\}", " ", sent)
                    if len(re.findall(r"[A-Za-z]+", fixed)) >= 2:
                        found.setdefault(normalise(sent).lower(), sent)
    ordered = sorted(found.values(), key=lambda t: -len(re.sub(r"\{\w+\}", "", t)))
    return tuple((_template_key(sent), _compile_template(sent)) for sent in ordered)


def _template_key(sentence: str) -> str:
    """Identity of a template sentence (its raw wording, normalised)."""
    return normalise(sentence).lower()


_TEMPLATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = _template_patterns()
# Longest sentence worth matching against the templates (topics are short phrases).
_MAX_TEMPLATE_CHARS = 300


@functools.lru_cache(maxsize=4096)
def _template_of(sentence: str) -> tuple[str, re.Match[str]] | None:
    """The template sentence that produced ``sentence`` (its key and the match), if any.

    Cached: every reply re-reads the whole history.
    """
    s = normalise(sentence)
    if len(s) > _MAX_TEMPLATE_CHARS:
        return None  # longer than any filled template; also keeps regex work bounded
    for key, pat in _TEMPLATE_PATTERNS:
        m = pat.fullmatch(s)
        if m is not None:
            return key, m
    return None


def _template_match(sentence: str, names: frozenset[str]) -> tuple[bool, Topic | None]:
    """(matched, topic) for a sentence that one of the engine's templates produced.

    A topic captured at the start of a sentence lost its case there; it keeps the
    capital only when it is one of the conversation's ``names``.
    """
    found = _template_of(sentence)
    if found is not None:
        m = found[1]
        groups = m.groupdict()
        words = (groups.get("t") or groups.get("T") or "").split()
        if not words or " ".join(words).lower() in _STAND_INS:
            return True, None  # "it" / "that" stood in for a topic named earlier
        if groups.get("T") and words[0] not in names:
            words[0] = words[0][:1].lower() + words[0][1:]
        return True, Topic(words, 10.0)
    return False, None


def _names(history: list[Utterance]) -> frozenset[str]:
    """Capitalised words seen inside sentences of the conversation: probably names."""
    out: set[str] = set()
    for u in history:
        for sent in sentences(u.text):
            words = re.findall(r"[A-Za-z][A-Za-z']*", sent)
            out.update(w for w in words[1:] if w[:1].isupper() and w not in ("I", "I'm"))
    return frozenset(out)


def _topic_of(text: str, question: bool, names: frozenset[str] = frozenset()) -> Topic | None:
    """The topic of a message: a template's topic slot if it has one, else ``find_topic``.

    For a question the question sentence is searched first: its topic is what is asked.
    """
    free: list[str] = []
    found: Topic | None = None
    for sent in sentences(text):
        matched, topic = _template_match(sent, names)
        if not matched:
            free.append(sent)
        elif topic is not None:
            found = topic
    if found is not None:
        return found
    if question:
        asked = [s for s in free if s.rstrip().endswith("?")]
        t = find_topic(asked[-1]) if asked else None
        if t is not None:
            return t
    return find_topic(" ".join(free)) if free else None


def _own_last_question(ctx: _Context) -> tuple[str | None, str | None, str | None]:
    """Frame, argument and topic of the question this persona asked last (for "And you?").

    "What about you?" asks us our own question back, so its topic is turned around
    ("your favourite food" -> "my favourite food"). Without such a question the frame
    stays "about_you", answered with how the agent is doing.
    """
    for u in reversed(ctx.history[:-1]):
        if u.role != "agent":
            continue
        questions = [s for s in sentences(u.text) if s.rstrip().endswith("?")]
        if questions:
            frame, arg = question_frame(questions[-1])
            if frame not in (None, "about_you"):
                t = _topic_of(questions[-1], True, _names(ctx.history))
                topic = t.text(reflect=True) if t is not None and t.score >= 3.0 else ctx.topic
                return frame, arg, topic
        break
    return "about_you", None, ctx.topic


def _answer_line(frame: str | None, arg: str | None, kind: str, ctx: _Context, rng: random.Random) -> str:
    """One sentence that answers a question of the given frame."""
    if frame is None:
        return _pick(rng, "ans.wh" if kind == "wh" else "ans.yesno", ctx)
    if frame in ("how_are_you", "feeling"):
        return _pick(rng, f"ans.{frame}.{'low' if ctx.mood_low else 'good'}", ctx)
    if frame == "favourite":
        cat = (arg or "thing").rstrip("s") if arg not in ("music", "news") else arg
        options = FAVOURITES.get(cat or "")
        if not options:
            return _pick(rng, "ans.favourite.unknown", ctx, extra={"cat": cat or "thing"})
        # A persona keeps its tastes: the favourite depends on its name, not on the turn.
        fav = random.Random(f"{ctx.persona.name}|{cat}").choice(options)
        return _pick(rng, "ans.favourite", ctx, extra={"fav": fav, "cat": cat})
    if frame == "hobby":
        fav = random.Random(f"{ctx.persona.name}|hobby").choice(FAVOURITES["hobby"])
        return _pick(rng, "ans.hobby", ctx, extra={"fav": fav})
    if frame == "do_you_like":
        return _pick(rng, "ans.do_you_like." + ("yes" if rng.random() < 0.85 else "no"), ctx)
    if frame == "about_you":
        return _pick(rng, "ans.how_are_you.low" if ctx.mood_low else "ans.whats_up", ctx)
    key = f"ans.{frame}"
    if ctx.group in _CARRIED and f"{key}.low" in POOLS:
        key += ".low"  # "I have a soft spot for my driving test" would be tone-deaf
    return _pick(rng, key if key in POOLS else "ans.wh", ctx)


def _fill(template: str, values: Mapping[str, str | None]) -> str | None:
    """``template`` with its placeholders filled, or None when one has no value."""
    fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    if any(values.get(f) is None for f in fields):
        return None
    return template.format(**{f: values[f] for f in fields})


def _values(
    ctx: _Context, topic: str | None, extra: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    values: dict[str, str | None] = {
        "topic": topic,
        "Topic": topic[:1].upper() + topic[1:] if topic else None,
        "clause": ctx.analysis.clause,
        "name": ctx.persona.name,
        "description": ctx.persona.description,
        "fresh": ctx.fresh,
    }
    values.update(extra or {})
    return values


def _pick(
    rng: random.Random,
    key: str,
    ctx: _Context,
    *,
    need_topic: bool = False,
    extra: Mapping[str, str] | None = None,
) -> str:
    """A line from pool ``key`` for the persona's style, with its placeholders filled.

    Lines whose placeholders cannot be filled are skipped; when none is left (no
    topic known), "that" stands in for the topic. ``need_topic`` keeps only lines
    that name the topic (returns "" when there are none).
    """
    pool = POOLS.get(key) or POOLS["extra"]
    lines = [*pool.get("*", ()), *pool.get(ctx.style, ())]
    topic = ctx.topic
    if topic and not key.startswith(("ans.", "share")):
        # Answers speak of one's own things; everything else addresses the other.
        topic = _addressed(topic)
    if topic and _is_plural(topic):
        # "board games grows on me": keep to lines whose verb agrees with a plural.
        lines = [t for t in lines if not _SINGULAR_AFTER_TOPIC.search(t)] or lines
    if need_topic:
        lines = [t for t in lines if "{topic}" in t or "{Topic}" in t]
        if not lines or not topic:
            return ""
    values = _values(ctx, topic, extra)
    filled = [(t, f) for t, f in ((t, _fill(t, values)) for t in lines) if f]
    if not filled and key.startswith(("follow.", "back.")) and key != "follow.open":
        return _pick(rng, "follow.open", ctx)  # no topic to ask about: ask openly
    if not filled and key.startswith("core."):
        return ""  # nothing to reflect; the opener and follow-up carry the reply
    if not filled:
        values.update({"topic": "that", "Topic": "That"})
        filled = [(t, f) for t, f in ((t, _fill(t, values)) for t in lines) if f]
    if not filled:
        return rng.choice(_UNCLEAR)
    template, text = rng.choice(filled)
    ctx.picked.extend(_template_key(s) for s in sentences(template))
    return text


def _mentions(parts: list[str], topic: str) -> bool:
    """Whether the parts name the topic (its last word: "the exam" counts for "my exam")."""
    words = _norm(topic).split()
    return bool(words) and words[-1] in _norm(" ".join(parts)).split()


# A template whose verb after the topic is singular ("{topic} is", "{Topic} sounds").
_SINGULAR_AFTER_TOPIC = re.compile(r"\{[Tt]opic\}(,)? (\w+ )?(is|isn't|was|has|\w+s)\b(?<!\bthings)(?<!\bus)")


def _is_plural(topic: str) -> bool:
    """A rough plural test on the phrase's last word ("board games", not "glass" or "Max")."""
    last = topic.split()[-1]
    return (
        len(last) > 3
        and last.islower()
        and last.endswith("s")
        and not last.endswith(("ss", "us", "is", "ics"))
    )


def _addressed(topic: str) -> str | None:
    """The topic as said to the other speaker, or None when it is the replier's own.

    In agent <-> agent talk a persona may be asked about "my driving test"; asking
    back "what's the story behind my driving test?" hands the other persona a topic
    it does not own. Such a reply uses the lines that need no topic instead.
    """
    return None if topic.split()[0].lower() in ("my", "mine") else topic


def _join(parts: list[str]) -> str:
    out = []
    for p in parts:
        p = p.strip()
        if p:
            out.append(p[0].upper() + p[1:])
    return " ".join(out)


def _unique(candidates: list[str], history: list[Utterance], rng: random.Random | None = None) -> str:
    """The first candidate not said before by the agent; else one made unique with extras."""
    own = {_norm(u.text) for u in history if u.role == "agent"}
    for text in candidates:
        if _norm(text) not in own:
            return text
    extras = list(POOLS["extra"]["*"])
    if rng is not None:
        rng.shuffle(extras)
    base = candidates[0]
    for e1 in extras:
        if _norm(f"{base} {e1}") not in own:
            return f"{base} {e1}"
    for e1 in extras:
        for e2 in extras:
            if e1 != e2 and _norm(f"{base} {e1} {e2}") not in own:
                return f"{base} {e1} {e2}"
    return f"{base} (Turn {len(history) + 1}.)"  # unreachable in practice: > 30 identical turns


def _agent_emotion(ctx: _Context, mood: EmotionState | None) -> EmotionState:
    """The agent's emotion for this reply (see ``_RESPONSE``), coloured by the mood."""
    a = ctx.analysis
    frame = ctx.answered or a.frame
    spec = _RESPONSE.get(ctx.group) or _NEUTRAL_RESPONSE[ctx.style]
    user_intensity = ctx.intensity
    if a.intent in ("greeting", "thanks", "compliment"):
        spec, user_intensity = ({"happy": 1.0}, 0.55, 0.0), 0.0
    elif a.intent == "insult":
        # Hurt, not hostile: the agent never answers anger with anger.
        spec, user_intensity = ({"sad": 0.6, "neutral": 0.4}, 0.35, 0.0), 0.0
    elif a.intent == "farewell":
        if ctx.group in ("sad", "fearful"):
            spec = ({"sad": 0.6, "neutral": 0.4}, 0.35, 0.0)
        else:
            spec = ({"happy": 1.0}, 0.45, 0.0)
    elif frame in ("how_are_you", "feeling", "are_you_ok", "about_you") and ctx.mood_low:
        spec = ({"sad": 0.6, "neutral": 0.4}, 0.35, 0.0)  # the answer said "a bit low"
    elif ctx.group in ("neutral", "happy") and frame in _HAPPY_FRAMES:
        spec = ({"happy": 1.0}, 0.5, 0.2)
    elif frame in _SAD_FRAMES:
        spec = ({"sad": 0.6, "neutral": 0.4}, 0.35, 0.0)
    return _finish(spec, user_intensity, ctx.style, mood)


def _finish(
    spec: tuple[dict[str, float], float, float],
    user_intensity: float,
    style: str,
    mood: EmotionState | None,
) -> EmotionState:
    dist, base, gain = spec
    intensity = min(1.0, (base + gain * user_intensity) * _STYLE_GAIN.get(style, 1.0))
    state = _state(dist, intensity)
    if mood is None:
        return state
    calm = mood.dist.copy()
    for name in _HOSTILE:
        # The agent does not turn hostile with the mood: that share goes to neutral.
        calm[EMOTIONS.index("neutral")] += calm[EMOTIONS.index(name)]
        calm[EMOTIONS.index(name)] = 0.0
    return mix([state, EmotionState(calm, mood.intensity)], [1.0 - MOOD_WEIGHT, MOOD_WEIGHT])


def opening_line(persona: Persona, topic: str | None = None, seed: int | None = None) -> Reply:
    """A line that opens a conversation as ``persona`` about ``topic``.

    With no topic, one is drawn from ``templates.FRESH_TOPICS``. The line always ends
    with a question the other side (a person, or a second offline persona) can answer.
    """
    rng = random.Random(f"{seed}|open|{persona.name}|{topic}") if seed is not None else None
    rng = rng or random.Random()
    style = _style(persona)
    chosen = topic.strip() if topic and topic.strip() else rng.choice(FRESH_TOPICS)
    ctx = _Context(
        persona=persona,
        style=style,
        analysis=analyse(""),
        group="neutral",
        intensity=0.0,
        topic=chosen,
        mood_low=False,
        fresh=chosen,
        history=[],
    )
    text = _join([_pick(rng, "opening", ctx)])
    return Reply(text, _finish(({"happy": 1.0}, 0.5, 0.0), 0.0, style, None), "offline")
