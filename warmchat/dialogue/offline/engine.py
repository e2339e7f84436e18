"""The offline dialogue engine: template replies that stay on topic, no network, no model.

How a reply is made (``OfflineEngine.reply``):

1. Read the last message (``analysis.analyse``): intent (greeting, farewell, thanks,
   yes/no or wh- question, opinion, a compliment or insult to the agent, statement),
   question frame ("how are you",
   "favourite X", "what do you love about X", ...), topic phrase and the speaker's
   "I ..." clause, both turned around to the replier's view ("my dog Max" ->
   "your dog Max").
2. Classify the message's emotion with the text classifier (injectable; by
   default a ``warmchat.emotion.TextEmotionClassifier`` of its own) and reduce it to a group
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

import logging
import random
import threading
from dataclasses import replace
from typing import Protocol

import numpy as np

from warmchat.dialogue.analysis import (
    analyse,
    sentences,
    stance,
)
from warmchat.dialogue.base import Persona, Reply, Utterance
from warmchat.dialogue.offline.compose import (
    _CHECK_IN_FRAMES,
    _MUTUAL_FRAMES,
    _SELF_FRAMES,
    _SHARE_FRAMES,
    _UNCLEAR,
    _agent_emotion,
    _answer_line,
    _asked,
    _asked_last,
    _Context,
    _finish,
    _join,
    _mentions,
    _own_last_question,
    _pick,
    _style,
    _unique,
)
from warmchat.dialogue.offline.policy import _CARRIED, _GROUP, _group_of
from warmchat.dialogue.offline.special import special_reply
from warmchat.dialogue.offline.topics import _choose_topic, _names, _norm, _pronoun, _template_of, _topic_of
from warmchat.dialogue.templates import FRESH_TOPICS
from warmchat.emotion import EMOTIONS, EmotionState, valence

# The strongest a reply's face gets on words that read neutral (``agrees`` calls 0.6 strong).
_MILD = 0.5

log = logging.getLogger(__name__)


class TextClassifier(Protocol):
    """Anything that labels a text with an emotion (``warmchat.emotion`` provides one)."""

    def classify(self, text: str) -> EmotionState: ...


# Classifications remembered per engine.


class OfflineEngine:
    """Template dialogue engine with no network and no model downloads.

    ``classifier`` labels messages with an emotion; it defaults to
    a ``warmchat.emotion.TextEmotionClassifier`` of its own, loaded on first use.
    """

    name = "offline"

    def __init__(self, classifier: TextClassifier | None = None) -> None:
        self._classifier = classifier
        self._classifier_lock = threading.Lock()

    def describe(self) -> str:
        """The back end in words (``WarmChatPipeline.status``)."""
        return "offline engine (no OPENAI_API_KEY set)"

    def opening(self, persona: Persona, topic: str | None = None, seed: int | None = None) -> Reply:
        """``opening_line``: a template opener about ``topic`` (or a fresh one)."""
        return opening_line(persona, topic, seed)

    @property
    def classifier(self) -> TextClassifier:
        """The text-emotion classifier: the one given, or the package's own, built on first use."""
        with self._classifier_lock:  # two first messages at once must not load two models
            if self._classifier is None:
                # Imported here: the classifier is heavy and only needed once a message comes.
                from warmchat.emotion import TextEmotionClassifier

                self._classifier = TextEmotionClassifier()
        return self._classifier

    def classify(self, text: str) -> EmotionState:
        """The emotion of ``text`` according to the engine's classifier."""
        return self.classifier.classify(text.strip())

    def reply(
        self,
        history: list[Utterance],
        persona: Persona,
        mood: EmotionState | None = None,
        seed: int | None = None,
        emotion: EmotionState | None = None,
    ) -> Reply:
        """Answer ``history[-1]`` as ``persona``; see the module docstring for how. With ``emotion``
        (the visitor's choice) the reply is composed from that emotion's sentences and said with it."""
        if not history:
            return opening_line(persona, None, seed)
        message = history[-1].text.strip()
        rng = _rng(seed, len(history), persona, message)
        style = _style(persona)
        if not any(ch.isalnum() for ch in message):
            text = _unique([_UNCLEAR[i % len(_UNCLEAR)] for i in range(len(_UNCLEAR))], history)
            return Reply(text, _finish(({"neutral": 1.0}, 0.3, 0.0), 0.0, style, mood), "offline")

        names = _names(history)
        special = special_reply(history, self.classify, lambda t: _topic_text(t, names), rng)
        if special is not None:
            # Junk, other languages, facts, jokes, repair: answered as what they are.
            said = {_norm(x) for u in history for x in sentences(u.text)}
            fresh = [c for c in special.candidates if not any(_norm(x) in said for x in sentences(c))]
            text = _unique(fresh or special.candidates, history, rng)
            return Reply(text, emotion or _finish((*special.emotion, 0.0), 0.0, style, mood), "offline")

        user_emotion = self.classify(message)
        said_with = history[-1].emotion
        if said_with is not None and _GROUP[said_with.dominant] != _GROUP[user_emotion.dominant]:
            # The line's words and the feeling it was said with disagree (a persona's "happy" on
            # "I think it started when I was little", or a misread): answer neither, stay neutral.
            # Congratulating a hobby ("you must be thrilled!") is what the words alone avoid.
            user_emotion = EmotionState.of("neutral", 0.3)
        question_only = all(x.rstrip().endswith("?") for x in sentences(message))
        group, intensity = _group_of(user_emotion, question_only)
        a = analyse(message)
        if emotion is not None and emotion.dominant != "neutral" and emotion.intensity >= 0.2:
            group, intensity = _GROUP[emotion.dominant], emotion.intensity  # write it as the visitor chose
        elif group == "neutral" and a.intent not in ("greeting", "farewell", "compliment"):
            # "He's 12 and the vet says it's his heart" reads neutral on its own, but
            # follows a worried message: the feeling carries over, a little weaker.
            group, intensity = self._carried(history, mood) or (group, intensity)
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
        return Reply(text, emotion or self._temper(_agent_emotion(ctx, mood), text), "offline")

    def _temper(self, label: EmotionState, text: str) -> EmotionState:
        """``label`` no stronger than the reply's words carry: on words that read neutral the face
        stays mild (at most ``_MILD``). Without this, two personas sharing joy about a hobby climb
        each other's intensity to a grin at 0.9 on "I think it started when I was little"."""
        if label.intensity <= _MILD or valence(self.classify(text)) != "neutral":
            return label
        return EmotionState(label.dist, _MILD)

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
        # A persona keeps to what it said of its own ties to the topic (a fan stays a fan).
        kept = _own_stance(history, ctx.topic)

        def clash(text: str) -> bool:
            return kept is not None and stance(text) not in (None, kept)

        best: tuple[int, str, int] | None = None  # (reused, text, exact repeats or clashes)
        for _ in range(40):
            ctx.picked = []
            text = _join(self._compose(ctx, rng))
            if _norm(text) in own:
                continue
            exact = sum(_norm(s) in said or clash(s) for s in sentences(text))
            reused = 10 * exact + sum(k in used for k in ctx.picked)
            # "Honestly, ... Honestly, ...": two sentences opening alike read as canned.
            starts = [s.split()[0].strip(",.!?").lower() for s in sentences(text) if s.split()]
            reused += len(starts) - len(set(starts))
            if reused == 0:
                return text
            if best is None or reused < best[0]:
                best = (reused, text, exact)
        if best and best[2] == 0 and ctx.topic and _new_topic(ctx.topic, history):
            return best[1]  # a wording said before, but of another topic: better than a dodge
        base = best[1] if best else _join(self._compose(ctx, rng))
        # Every wording the topic has is used up (two personas on one hobby get there in a few
        # turns): say only what is new, or, in light talk, move on to something else.
        new = [s for s in sentences(base) if _norm(s) not in said and not clash(s)]
        if any(not s.rstrip().endswith("?") for s in new) and len(new) < len(sentences(base)):
            return _unique([_join(new)], history, rng)
        if ctx.group in ("neutral", "happy") and ctx.analysis.intent not in (
            "greeting",
            "farewell",
            "thanks",
        ):
            talked = " ".join(u.text.lower() for u in history)
            fresh = [t for t in FRESH_TOPICS if t not in talked]
            if fresh:
                ctx.fresh = rng.choice(fresh)
                lines = [_pick(rng, "move_on", ctx) for _ in range(6)]
                lines = [t for t in lines if not any(_norm(x) in said for x in sentences(t))] or lines
                return _unique(lines, history, rng)
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


def _topic_text(text: str, names: frozenset[str]) -> str | None:
    """The topic phrase of ``text`` as the replier says it ("my luggage" -> "your luggage")."""
    topic = _topic_of(text, False, names)
    return topic.text(reflect=True) if topic is not None else None


def _own_stance(history: list[Utterance], topic: str | None) -> str | None:
    """What the replier first said of its own ties to ``topic`` ("fan", "new"), if anything."""
    if not topic:
        return None
    for i, u in enumerate(history):
        near = [u.text] + ([history[i - 1].text] if i else [])
        if u.role == "agent" and (found := stance(u.text)) and any(_mentions([t], topic) for t in near):
            return found
    return None


def _new_topic(topic: str, history: list[Utterance]) -> bool:
    """Whether ``topic`` is new: first named in the last three lines."""
    return not any(_mentions([u.text], topic) for u in history[:-3])


def _rng(seed: int | None, n_history: int, persona: Persona, message: str) -> random.Random:
    """A fresh generator per call: same seed + same conversation state -> same reply."""
    if seed is None:
        return random.Random()
    # A string seed is hashed with SHA-512 by ``random``: stable across runs and machines.
    return random.Random(f"{seed}|{n_history}|{persona.name}|{message}")


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
