"""Composing an offline reply: the per-reply context, filling and picking template lines, and joining them."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from warmchat.dialogue.analysis import (
    Analysis,
    question_frame,
    sentences,
)
from warmchat.dialogue.base import STYLES, Persona, Utterance
from warmchat.dialogue.templates import FAVOURITES, POOLS
from warmchat.emotion import EMOTIONS, EmotionState, mix

if TYPE_CHECKING:
    from collections.abc import Mapping
from warmchat.dialogue.offline.policy import (
    _CARRIED,
    _HOSTILE,
    _NEUTRAL_RESPONSE,
    _RESPONSE,
    _STYLE_GAIN,
    MOOD_WEIGHT,
    _state,
)
from warmchat.dialogue.offline.topics import (
    _SINGULAR_AFTER_TOPIC,
    _addressed,
    _is_plural,
    _names,
    _norm,
    _template_key,
    _topic_of,
)

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
        "Fresh": ctx.fresh[:1].upper() + ctx.fresh[1:],
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
