"""Messages the composed replies would get wrong, answered before composing (``special_reply``).

* junk (markup, key mashing) and text that is not English: said so, honestly, and
  nothing of the conversation's topic is dragged into the answer;
* questions of fact ("what is the capital of Australia?"): the engine cannot look
  anything up, and says so instead of guessing;
* jokes (a riddle and its punchline in one message): laughed at, by the punchline;
* repair ("going back to what I said earlier: should I call them again?"): the
  topic it names, or the earlier one that still weighs, and the question answered about it;
* advice ("should I sell the car?", "what should I feed Pixel?"): the answer names what
  they would do;
* kindness about the replier's own news ("worry means you care about your dog Max", in
  agent <-> agent talk): answered as its owner, not comforted back.

Each kind has several wordings; the engine picks one the conversation has not used.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from warmchat.dialogue.analysis import question_frame, reflect, sentences
from warmchat.dialogue.base import Utterance
from warmchat.emotion import EmotionState, distressed, valence
from warmchat.language import looks_foreign, words


@dataclass
class Special:
    """A reply decided before composing: its wordings and the face to say it with."""

    kind: str  # junk | not_english | pleasantry | fact | joke | repair | advice | owner
    candidates: list[str]  # wordings, in a seeded random order; the engine takes the first unused
    emotion: tuple[dict[str, float], float]  # (distribution, intensity)


_TAG = re.compile(r"<\s*/?\s*[a-z][^>]{0,60}>", re.I)
_LAUGH = re.compile(r"^(?:ha|he|hi|ho|lo|l|o|a)+h?$", re.I)
_PERSONAL = set(
    "i me my mine myself you your yours yourself we us our ours i'm i've i'd i'll you're you've".split()
)
_OPENERS = re.compile(
    r"^(?:(?:by the way|btw|so|ok(?:ay)?|hey|oh|also|and|quick question|random question|"
    r"(?:do you|does anyone|would you|you) know|can you tell me|tell me|i wonder|i was wondering)\b[\s,:;-]*)+",
    re.I,
)
_FACT = re.compile(
    r"^(?:what(?! if\b| about\b| now\b| else\b| happened\b| happens\b)|who|whom|whose|when|where|which|why"
    r"|how (?:many|much|far|old|tall|long|big|deep|fast|heavy|high))\b",
    re.I,
)
# Questions about the conversation, not the world: "what's the story behind travelling?",
# "what was the best part?", "what's it like?".
_CHAT_WORDS = set(
    "story best worst hardest part thing things like love favourite favorite plan plans news secret "
    "highlight feel feeling mind think happened next".split()
)
# Good manners that answer thanks: not news to congratulate.
_PLEASANTRY = re.compile(
    r"^\W*(?:(?:aw+|oh|ah|well|hey)\W+)?(?:of course|my pleasure|you'?re (?:very |so )?welcome|no problem|no worries|any ?time|"
    r"happy to help|glad (?:i could|to) help|don'?t mention it)\b",
    re.I,
)
# The question frames that also fit a question about the world ("who wrote Hamlet?" is a "who").
_WORLD_FRAMES = {None, "who", "why", "duration"}
_REPAIR = re.compile(
    r"\b(?:(?:go|going|get|getting|come|coming|circle|circling) back to|back to what i|"
    r"what i (?:said|mentioned|told you) (?:earlier|before)|as i (?:said|mentioned)|like i said|earlier i (?:said|told))\b",
    re.I,
)
# "back to the languages" names the topic; "back to what I said" does not.
_BACK_TO = re.compile(r"\bback to (?P<topic>(?:the|my|our|your|his|her|their) [^,:;?.!]{2,40})", re.I)
_ASKS_WHAT = re.compile(r"\b(what|which|where|when|how|who)\b[^?.!]*\b(?:should i|shall i|do i)\b", re.I)
_SHOULD = re.compile(r"\b(?:should i|i should|shall i|do i) (?P<act>[^?.!]+)", re.I)


def is_junk(message: str) -> bool:
    """Markup, or nothing but key mashing ("aaaaaaa", "sdfghjkl"); laughter ("hahaha") is not junk."""
    if _TAG.search(message):
        return True
    found = words(message)
    if not found:
        return False

    def mashed(w: str) -> bool:
        low = w.lower()
        if _LAUGH.match(low) and len(set(low)) <= 3 and len(low) <= 12:
            return False
        no_vowel = len(low) >= 5 and not set(low) & set("aeiouy")
        return (
            (len(low) >= 4 and len(set(low)) <= 2)
            or no_vowel
            or (len(low) >= 6 and re.search(r"(.)\1{3,}", low))
        )

    return all(mashed(w) for w in found)


def fact_question(message: str) -> str | None:
    """The message's question of fact about the world, if it asks one (no "I" or "you" in it)."""
    for s in reversed(sentences(message)):
        if not s.rstrip().endswith("?"):
            continue
        q = _OPENERS.sub("", s.strip()).strip()
        low = [w.lower() for w in words(q)]
        if len(low) < 3 or not _FACT.match(q) or set(low) & (_PERSONAL | _CHAT_WORDS):
            continue
        if question_frame(q)[0] in _WORLD_FRAMES:  # a question the engine talks about is no fact
            return q
    return None


def joke_punchline(message: str) -> str | None:
    """The punchline when the message tells a riddle joke (a question, then its answer)."""
    parts = sentences(message)
    low = message.lower()
    if "knock knock" in low or "knock, knock" in low:
        return parts[-1] if parts else message
    for i, s in enumerate(parts[:-1]):
        nxt = parts[i + 1].strip()
        riddle = re.match(
            r"^(why|what do you call|what did|how do you|what's the difference)\b", s.strip(), re.I
        )
        if s.rstrip().endswith("?") and riddle and not nxt.endswith("?"):
            return nxt
    return None


def _punch(text: str) -> str:
    """A punchline cut down to quote back: "Because he was outstanding in his field!" ->
    "outstanding in his field"."""
    t = re.sub(
        r"^(?:(?:because|cause|'cause|so|nothing|he|she|it|they|was|is|were|are)\b[\s,]*)+",
        "",
        text.strip(),
        flags=re.I,
    )
    t = t.strip(" .!?,;:\"'") or text.strip(" .!?")
    # "To keep an eye on the mouse" is quoted mid-sentence: lower its first letter (not "I", not "NASA").
    return t[0].lower() + t[1:] if len(t) > 1 and t[1].islower() and not t.startswith("I ") else t


def _earlier_topic(
    history: list[Utterance], classify: Callable[[str], EmotionState], topic_of
) -> tuple[str, EmotionState] | None:
    """(the topic, the feeling it was said with) of the earlier user message a repair goes back
    to: the latest one said with a feeling that weighs (sad, angry, fearful, disgusted), else the
    latest with a topic."""
    earlier = [u for u in history[:-1] if u.role == "user"]
    best = None
    for u in reversed(earlier):
        topic = topic_of(u.text)
        if topic is None:
            continue
        state = u.emotion or classify(u.text)
        if distressed(state):
            return topic, state
        best = best or (topic, state)
    return best


def special_reply(
    history: list[Utterance],
    classify: Callable[[str], EmotionState],
    topic_of: Callable[[str], str | None],
    rng: random.Random,
) -> Special | None:
    """A ``Special`` for the last message, or None to compose as usual. ``topic_of(text)`` is the
    topic phrase of a message, as the replier says it ("your luggage")."""
    message = history[-1].text.strip()
    if is_junk(message):
        lines = [
            "I couldn't make that out. Could you say it in a few words?",
            "Hmm, that came through as a jumble on my side. What did you mean to say?",
            "I didn't catch that one. Try me again in plain words?",
        ]
        return Special("junk", _shuffled(lines, rng), ({"neutral": 0.7, "surprised": 0.3}, 0.3))
    if looks_foreign(message):
        lines = [
            "I'm sorry, I only understand English. Could you say that in English?",
            "I wish I could follow, but I only speak English. Could you tell me in English?",
            "That's beyond me, I'm afraid: I only know English. Would you say it in English?",
        ]
        return Special("not_english", _shuffled(lines, rng), ({"neutral": 0.8, "sad": 0.2}, 0.3))
    if _PLEASANTRY.match(message) and len(words(message)) <= 8:
        # "Of course, happy to help." is good manners, not good news: no "How will you celebrate?"
        lines = [
            "Thank you, really. It helps to have someone to talk to.",
            "I appreciate it. So, what else is on your mind today?",
            "That's kind of you. How has the rest of your day been?",
        ]
        return Special("pleasantry", _shuffled(lines, rng), ({"happy": 0.6, "neutral": 0.4}, 0.35))
    punch = joke_punchline(message)
    if punch:
        quoted = _punch(punch)
        lines = [
            f"Ha! {_cap(quoted)}! That's a good one, I love it.",
            f"Oh, {quoted}! That made me laugh, thank you.",
            f"Ha, {quoted}! Brilliant, I walked right into that one. Got another?",
        ]
        return Special("joke", _shuffled(lines, rng), ({"happy": 1.0}, 0.6))
    fact = fact_question(message)
    repair = _REPAIR.search(message)
    act = _SHOULD.search(message)  # "should I ...": what they would do
    if fact and not repair:
        lines = [
            "I can't look things up from here, so I'd rather not guess at that. A quick search will know.",
            "Honestly, I don't know that one for sure, and I can't check from here. A search engine would.",
            "That's a question of fact, and I can't look anything up, so I won't make an answer up.",
        ]
        earlier = _earlier_topic(history, classify, topic_of)
        if earlier and earlier[1].dominant in ("sad", "angry", "fearful"):
            lines = [f"{line} But tell me, how are you holding up with {earlier[0]}?" for line in lines]
        return Special("fact", _shuffled(lines, rng), ({"neutral": 1.0}, 0.3))
    named = _BACK_TO.search(message) if repair else None
    earlier = _earlier_topic(history, classify, topic_of) if repair and not named else None
    if named or earlier:
        # "back to the languages" names its topic; "back to what I said" goes to the earlier one.
        topic = reflect(named.group("topic").strip()) if named else earlier[0]
        lead = [f"Back to {topic}, then.", f"Of course, {topic}.", f"Right, {topic}."]
        if act:
            doing = reflect(act.group("act").strip())
            answers = [
                f"Yes, I think you should {doing}, if it feels right when the time comes.",
                f"I would {doing}, yes. It helps to know what you want to say first.",
                f"If you feel up to it, {doing}. And if you don't, that's all right too.",
            ]
        else:
            answers = [
                "How are you feeling about it now?",
                "Where did things end up with it?",
                "What's on your mind about it now?",
            ]
        lines = [f"{lead[i % 3]} {answers[(i + k) % 3]}" for k in range(3) for i in range(3)]
        return Special("repair", _shuffled(lines, rng), ({"neutral": 0.7, "sad": 0.3}, 0.35))
    if act and not fact:
        return _advice(message, act.group("act").strip(), rng)
    return _owner(history, classify, topic_of, rng)


def _owner(
    history: list[Utterance], classify: Callable[[str], EmotionState], topic_of, rng: random.Random
) -> Special | None:
    """Kindness about the replier's own news ("Worry means you care about your dog Max", "How will you
    celebrate your kitchen?") is answered as its owner: thanked, or answered from its side, never met
    with comfort or a question about it as if it were the other's (agent <-> agent, ``chat --turns``)."""
    message = history[-1].text
    if not re.search(r"\byour\b", message, re.I):
        return None
    for u in history[:-1]:  # the line that brought the news up: its feeling is the owner's
        if u.role != "agent":
            continue
        # Its topic as the other says it ("your dog Max"), said back in the message: not any "my"
        # ("on my mind" is no news).
        said = topic_of(u.text)
        if not said or not said.lower().startswith("your ") or said.lower() not in message.lower():
            continue
        topic = "my " + said[5:]
        feeling = u.emotion or classify(u.text)
        owner = _OWNER.get(valence(feeling))
        if owner is None:
            return None
        lines, said_with = owner[message.rstrip().endswith("?")], owner["emotion"]
        values = {"topic": topic, "Topic": _cap(topic)}
        return Special("owner", _shuffled([t.format(**values) for t in lines], rng), said_with)
    return None


# The owner's answers by the feeling of their news: to a question about it (True), to a kind word
# (False), and the feeling they are said with.
_OWNER: dict[str, dict] = {
    "positive": {
        True: ["Honestly, I'm thrilled with {topic}. Thanks for asking!",
               "I haven't stopped smiling about {topic}, to be honest!",
               "So pleased, really. {Topic} was worth the wait."],
        False: ["Thank you! I'm still smiling about {topic}.", "Thanks, that's kind. {Topic} made my week!",
                "Aw, thank you. I'm really happy about {topic}."],
        "emotion": ({"happy": 1.0}, 0.55),
    },
    "negative": {
        True: ["Honestly, I'm not sure yet. Talking about {topic} helps, though.",
               "Maybe just taking it one day at a time. Thanks for asking about {topic}.",
               "A little, yes. It helps to say it out loud about {topic}."],
        False: ["Thank you, that means a lot. I keep thinking about {topic}.",
                "Thanks for listening. {Topic} is on my mind all the time.",
                "You're kind. It helps to talk about {topic} with someone."],
        "emotion": ({"sad": 0.6, "neutral": 0.4}, 0.45),
    },
}  # fmt: skip


def _advice(message: str, act: str, rng: random.Random) -> Special | None:
    """ "Should I sell the car?": an answer that names what they would do. "What should I feed
    Pixel?": the question named back, and an honest way to find out."""
    doing = reflect(act)
    if len(doing.split()) < 2:
        return None  # "should I?" alone: nothing to name
    asks_what = _ASKS_WHAT.search(message)
    if asks_what:
        wh = asks_what.group(1).lower()
        lines = [
            f"{wh.capitalize()} to {doing}? I can't look that up, but someone who knows it well could tell you.",
            f"Good question, {wh} to {doing}. I'd try a little, see what works, and keep what does.",
            f"{wh.capitalize()} to {doing}, hmm. What have you tried so far?",
        ]
    else:
        lines = [
            f"{_cap(doing)}? If it still feels right tomorrow, I'd say yes.",
            f"I think you could {doing}, if your gut says so. What's making you unsure?",
            f"It's your call, but I'd {doing}: at least you'd know where you stand.",
        ]
    return Special("advice", _shuffled(lines, rng), ({"neutral": 1.0}, 0.35))


def _cap(text: str) -> str:
    """``text`` with its first letter in capitals, to begin a sentence."""
    return text[:1].upper() + text[1:]


def _shuffled(lines: list[str], rng: random.Random) -> list[str]:
    out = list(lines)
    rng.shuffle(out)
    return out
