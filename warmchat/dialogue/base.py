"""Shared types of the dialogue stage: personas, utterances, replies, the engine protocol.

Every dialogue back end (the offline engine, the OpenAI-compatible client, whatever
comes later) takes the same inputs and returns the same ``Reply``, so the pipeline
can swap them freely and fall back from one to another.

Roles are always seen from the replying persona: ``"agent"`` is the persona that
is about to speak, ``"user"`` is whoever it talks to (a person, or a second
persona in agent <-> agent mode; ``swap_roles`` turns one side's history into
the other side's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from warmchat.emotion import EmotionState

#: The offline engine's wording styles (``Persona.style``).
STYLES: tuple[str, ...] = ("warm", "playful", "calm")


@dataclass
class Persona:
    """Who is speaking: a name, a one-line description and a wording style.

    ``description`` goes into the LLM system prompt and into the offline engine's
    self-introduction. ``style`` picks the offline engine's wording:

    - ``"warm"``: affectionate and encouraging ("Oh, I'm so glad to hear that!");
    - ``"playful"``: casual, exclamatory, teasing ("Ooh, nice one!");
    - ``"calm"``: measured and quiet ("That's good to hear.").

    An unknown style is treated as ``"warm"``.
    """

    name: str = "Ava"  # display name
    description: str = "a warm, curious conversational companion"
    style: str = "warm"  # offline engine style key: "warm" | "playful" | "calm"


#: The default agent persona.
DEFAULT_PERSONA = Persona()

#: A second persona for agent <-> agent conversations (the "user" side of ``chat --turns N``).
PARTNER_PERSONA = Persona(
    name="Leo",
    description="a playful, easy-going friend who loves a good story",
    style="playful",
)


@dataclass
class Utterance:
    """One line of the conversation history (histories are ordered oldest first)."""

    role: str  # "user" | "agent" ("agent" = the replying persona itself)
    text: str
    emotion: EmotionState | None = None  # the emotion it was said with, when known


@dataclass
class Reply:
    """What a dialogue engine answers: the text, the emotion to say it with, who wrote it."""

    text: str
    emotion: EmotionState
    backend: str  # "offline" | "openai"
    # A one-line message for the user when something did not go as configured, e.g.
    # "The LLM did not answer (timeout after 20 s); the offline engine replied instead."
    notice: str | None = None


@runtime_checkable
class DialogueEngine(Protocol):
    """Anything that can answer the last line of a history in a persona's voice."""

    name: str

    def reply(
        self,
        history: list[Utterance],
        persona: Persona,
        mood: EmotionState | None = None,
        seed: int | None = None,
        emotion: EmotionState | None = None,
    ) -> Reply:
        """Answer ``history[-1]`` as ``persona`` (in ``emotion`` when the visitor chose one: the
        reply is written to sound so, and said with it).

        ``mood`` is the cumulative emotion from the dialogue tree (the reverse-level
        traversal), which colours the reply; ``seed`` makes the reply reproducible
        where the back end allows it.
        """
        ...

    def opening(self, persona: Persona, topic: str | None = None, seed: int | None = None) -> Reply:
        """A first line that opens a conversation as ``persona`` (about ``topic`` when given),
        ending with a question the other side can answer."""
        ...

    def describe(self) -> str:
        """The back end in words, for ``WarmChatPipeline.status`` (the app shows it)."""
        ...


def swap_roles(history: list[Utterance]) -> list[Utterance]:
    """The same history seen from the other side: "user" and "agent" exchanged.

    Agent <-> agent mode keeps one history and hands each persona the view in which
    its own lines are "agent".
    """
    flip = {"user": "agent", "agent": "user"}
    return [replace(u, role=flip.get(u.role, u.role)) for u in history]
