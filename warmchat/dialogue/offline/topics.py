"""Topics in the offline engine: recognising the engine's own templates in a message, and the topic phrase a reply is about."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from warmchat.dialogue.analysis import (
    Analysis,
    Topic,
    find_topic,
    normalise,
    sentence_key,
    sentences,
)
from warmchat.dialogue.base import Utterance
from warmchat.dialogue.templates import POOLS

if TYPE_CHECKING:
    pass


# Words that stand in for a topic in a filled template; they are not a topic themselves.
_STAND_INS = frozenset(("it", "that", "this", "them", "they"))

_norm = sentence_key  # the comparison key for "the same sentence" (analysis.sentence_key)


def _pronoun(topic: str) -> str | None:
    """Return "it" for a singular common-noun topic; None for names and plurals."""
    if any(w[:1].isupper() for w in topic.split()) or _is_plural(topic):
        return None
    return "it"


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
        if name in ("topic", "Topic", "fresh", "Fresh"):
            group = "T" if name in ("Topic", "Fresh") else "t"
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


def _template_of(sentence: str) -> tuple[str, re.Match[str]] | None:
    """The template sentence that produced ``sentence`` (its key and the match), if any.

    Not cached (the sentences are visitors' words): every reply re-reads the whole
    history, which costs ~7 ms per reply after 40 turns.
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
