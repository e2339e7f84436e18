"""Agent <-> agent conversations: two personas take turns on one dialogue engine."""

from __future__ import annotations

from warmchat.dialogue.base import DialogueEngine, Persona, Reply, Utterance
from warmchat.dialogue.offline import opening_line
from warmchat.emotion import EmotionState, mix


def converse(
    engine: DialogueEngine,
    first: Persona,
    second: Persona,
    turns: int,
    topic: str | None = None,
    seed: int | None = None,
    opening: str | None = None,
) -> list[tuple[Persona, Reply]]:
    """A conversation of ``turns`` replies after an opening line by ``first``.

    ``first`` opens with ``opening`` (or ``opening_line`` about ``topic``); then
    ``second`` and ``first`` reply in turn. Each persona sees the history from its
    own side (its lines as "agent", the other's as "user"). The utterances carry no
    emotion, so each reply reads the other's words afresh rather than mirroring
    the other face; the mood passed along is ``recent_mood``. Returns the opening
    and every reply, in order.
    """
    if opening is not None and opening.strip():
        # A given first line is labelled like any message, where the engine can.
        classify = getattr(engine, "classify", None)
        emotion = classify(opening) if callable(classify) else EmotionState()
        start = Reply(opening.strip(), emotion, engine.name)
    else:
        start = opening_line(first, topic, seed)
    said: list[tuple[Persona, Reply]] = [(first, start)]
    for turn in range(max(0, int(turns))):
        speaker = second if turn % 2 == 0 else first
        history = [Utterance("agent" if who is speaker else "user", reply.text) for who, reply in said]
        said.append((speaker, engine.reply(history, speaker, recent_mood(said), seed)))
    return said


def recent_mood(said: list[tuple[Persona, Reply]], decay: float = 0.5) -> EmotionState:
    """A stand-in for the dialogue tree's cumulative emotion over a linear conversation.

    The last three utterances' emotions, weighted 1, ``decay``, ``decay**2`` from the
    newest back, so a sad thread stays gentle for a turn or two and then lets go.
    """
    recent = [reply.emotion for _, reply in said[-3:]][::-1]
    return mix(recent, [decay**i for i in range(len(recent))])
