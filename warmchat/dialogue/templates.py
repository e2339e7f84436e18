"""Wording of the offline engine: sentence pools per reply part, emotion and persona style.

The sentences are data, in ``templates.json`` beside this file; this module
reads and checks them once, at import.

A reply is built from parts (an opener that reacts to the emotion, a core that
reflects or answers, a follow-up question), each drawn from a pool. A pool has
shared lines (``"*"``) and lines for one style (``"warm"``, ``"playful"``,
``"calm"``); a persona draws from the shared lines plus its own style's.

Pools by name: ``open.<emotion>`` (a first reaction to the other speaker's
emotion), ``core.<emotion>`` (reflect what was said), ``follow.*`` (follow-up
questions; ``follow.open`` when no topic is known), ``back.*`` (said to the
agent itself), ``ans.*`` (answers to question frames; ``*.low`` while the talk is
about something painful), ``share`` (a small personal aside after an answer),
``opinion.*``, ``compliment``/``insult``, ``greet*``, ``thanks``, ``bye*``,
``opening`` (agent <-> agent, or the agent speaking first) and ``extra`` (the last
resort when every other wording was already used in this conversation).

Placeholders: ``{topic}`` / ``{Topic}`` (the topic phrase, seen from the replier,
capitalised in the second form), ``{clause}`` (the other speaker's "I ..." clause
turned around: "you lost your job"), ``{name}`` and ``{description}`` (the
persona), ``{fav}`` / ``{cat}`` (a favourite and its category), ``{fresh}`` (a new
topic to bring up). A line whose placeholders cannot be filled is not drawn.

Every follow-up question here falls into one of the question frames of
``words.QUESTION_FRAMES``, so that two offline personas can answer each other.
``FRESH_TOPICS`` are topics to bring up when a conversation needs one;
``FAVOURITES`` (category -> choices) are drawn once per persona name so a persona
keeps its tastes.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

Pool = dict[str, tuple[str, ...]]

TEMPLATES_FILE = Path(__file__).resolve().parent / "templates.json"
STYLES = ("*", "warm", "playful", "calm")  # "*": lines every persona may say
PLACEHOLDERS = frozenset(("topic", "Topic", "clause", "name", "description", "fav", "cat", "fresh", "Fresh"))
REQUIRED_POOLS = ("extra", "opening")  # the engine's last resorts


def load_templates(
    path: Path = TEMPLATES_FILE,
) -> tuple[dict[str, Pool], tuple[str, ...], dict[str, tuple[str, ...]]]:
    """(pools, fresh topics, favourites) from a templates file; ValueError naming the first fault."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    pools: dict[str, Pool] = {}
    for name, pool in raw["pools"].items():
        if not pool or not set(pool) <= set(STYLES):
            raise ValueError(f"{path.name}: pool {name!r} needs lines under styles from {STYLES}")
        for style, lines in pool.items():
            for line in lines:
                if not isinstance(line, str) or not line.strip():
                    raise ValueError(f"{path.name}: pool {name!r} ({style}) has an empty line")
                fields = {f for _, f, _, _ in string.Formatter().parse(line) if f is not None}
                if not fields <= PLACEHOLDERS:
                    raise ValueError(f"{path.name}: pool {name!r}: unknown placeholder in {line!r}")
        pools[name] = {style: tuple(lines) for style, lines in pool.items()}
    missing = [p for p in REQUIRED_POOLS if "*" not in pools.get(p, {})]
    if missing:
        raise ValueError(f"{path.name}: pools {missing} need shared ('*') lines")
    fresh = tuple(raw["fresh_topics"])
    favourites = {cat: tuple(choices) for cat, choices in raw["favourites"].items()}
    if not fresh or not all(favourites.values()):
        raise ValueError(f"{path.name}: fresh_topics and every favourite category need entries")
    return pools, fresh, favourites


POOLS, FRESH_TOPICS, FAVOURITES = load_templates()
