"""Shallow reading of one message for the offline engine: intent, question frame, topic.

No parser and no model: word lists and a few patterns. That is enough to tell a
greeting from a question from a statement, to find what a message is about ("my
dog Max", "the exam", "cooking") and to turn it around to the other speaker's
point of view ("my dog Max" -> "your dog Max"), which is what a short, friendly
conversation needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from warmchat.dialogue.words import (
    ADJECTIVES,
    AUX_WORDS,
    COMPLIMENT,
    DETERMINERS,
    FAREWELL_PHRASE,
    FEELING_WORDS,
    FUNCTION_WORDS,
    GREETING_PHRASE,
    GREETING_WORDS,
    INSULT,
    INTENSIFIERS,
    LEADING_FILLERS,
    NEGATIVE_OPINION,
    OPINION,
    POSSESSIVES,
    PREFERENCE_VERBS,
    PREPOSITIONS,
    PROPER_STOP,
    QUESTION_FRAMES,
    REFLECT,
    SENTENCE_RE,
    THANKS_ANYWHERE,
    THANKS_PHRASE,
    TOKEN_RE,
    VERBS,
    WH_WORDS,
)


@dataclass
class Topic:
    """A topic phrase as the speaker said it, with how sure we are it is the topic."""

    words: list[str]  # original tokens, e.g. ["my", "dog", "Max"]
    score: float

    def text(self, reflect: bool) -> str:
        """The phrase, turned to the listener's view when ``reflect`` ("my" -> "your")."""
        words = [_reflect_word(w) for w in self.words] if reflect else list(self.words)
        # A leading "My"/"The" was capitalised only because it began a sentence.
        if words and words[0].lower() in FUNCTION_WORDS | POSSESSIVES:
            words[0] = words[0].lower()
        # "a" / "an" read badly when echoed back ("tell me about a trip"): use "the".
        if words and words[0].lower() in ("a", "an", "some"):
            words[0] = "the"
        return " ".join(words)


@dataclass
class Analysis:
    """What the offline engine needs to know about one message."""

    intent: str  # greeting|farewell|thanks|yesno|wh|compliment|insult|opinion|statement
    frame: str | None  # question frame (see QUESTION_FRAMES) or None
    frame_arg: str | None  # e.g. the category of a "favourite X" question
    topic: Topic | None  # best topic phrase in this message, unreflected
    clause: str | None  # the speaker's first-person clause, reflected: "you lost your job"
    greeted: bool  # the message opens with a greeting
    negative_opinion: bool  # an opinion against something ("I hate mornings")


def normalise(text: str) -> str:
    """Straight apostrophes and single spaces: the word lists use plain ASCII."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return re.sub(r"\s+", " ", text).strip()


def sentence_key(text: str) -> str:
    """Comparison key for "the same sentence": lower case, letters and digits only."""
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split())


def sentences(text: str) -> list[str]:
    """Split into sentences at ., ! and ? followed by a space."""
    return [s for s in SENTENCE_RE.split(normalise(text)) if s.strip()]


def tokens(text: str) -> list[str]:
    """Words (apostrophes kept inside: "don't", "I'm") and punctuation marks."""
    return TOKEN_RE.findall(normalise(text))


def _reflect_word(word: str) -> str:
    low = word.lower()
    if low in REFLECT:
        out = REFLECT[low]
        # Keep an initial capital where the word had one (but "I" is not a capital word).
        return out[0].upper() + out[1:] if word[:1].isupper() and low != "i" else out
    return word


def reflect(text: str) -> str:
    """Turn a phrase around: "my dog" -> "your dog", "I was" -> "you were", "your" -> "my"."""
    return " ".join(_reflect_word(w) for w in text.split())


def _is_word(tok: str) -> bool:
    return tok[:1].isalnum()


def _first_word_index(toks: list[str]) -> int:
    """Index of the first token that is not a filler or punctuation (or len(toks))."""
    i = 0
    while i < len(toks) and (not _is_word(toks[i]) or toks[i].lower() in LEADING_FILLERS):
        i += 1
    return i


# Units of time: function words after a number ("three days"), part of the thing after a word
# ("rainy days", "my school years").
_UNITS = frozenset("days nights mornings evenings weekends weeks months years".split())


def _plain_content(low: str) -> bool:
    """A word that can be a topic on its own (not a function word, verb or feeling)."""
    return (
        len(low) <= 20  # "aaaaaaaa...": not a word anyone wants echoed back
        and low not in FUNCTION_WORDS
        and low not in VERBS
        and low not in FEELING_WORDS
        and not low.isdigit()
        and len(low) > 2
        and not low.endswith("ly")
        and not (low.endswith("ed") and len(low) > 4)
    )


def find_topic(text: str) -> Topic | None:
    """The most topic-like phrase of ``text`` (unreflected), or None.

    Candidates and their base scores: a possessive phrase ("my dog Max", 5), a
    phrase after "about" (+2), a name in the middle of a sentence (4), the object
    of a liking verb ("love cooking", 4), another determiner phrase ("the park",
    3), and any other content word (1 + a little for length). Longer phrases and
    later positions win ties.
    """
    best: Topic | None = None

    def offer(words: list[str], score: float) -> None:
        nonlocal best
        if words and (best is None or score > best.score):
            best = Topic(words, score)

    for sent in sentences(text):
        toks = tokens(sent)
        n = len(toks)
        start = _first_word_index(toks)
        for i, tok in enumerate(toks):
            low = tok.lower()
            pos_bonus = 0.2 * i / max(n, 1)
            prev = toks[i - 1].lower() if i > 0 else ""
            if low in DETERMINERS:
                phrase, end = _noun_phrase(toks, i + 1)
                # "the best", "my worst": an evaluation, not a thing.
                if phrase and not all(w.lower() in FEELING_WORDS for w in phrase):
                    phrase = _extend_with_name(toks, end, phrase)
                    score = (5.0 if low in POSSESSIVES else 3.0) + 0.5 * len(phrase)
                    if prev == "about":
                        score += 2.0
                    offer([tok, *phrase], score + pos_bonus)
            elif (
                tok[:1].isupper()
                and i > start
                and low not in PROPER_STOP
                and low not in FUNCTION_WORDS
                and low not in GREETING_WORDS
                and _is_word(tok)
            ):
                j = i
                while j < n and toks[j][:1].isupper() and _is_word(toks[j]):
                    j += 1
                if prev not in DETERMINERS:
                    offer(toks[i:j], 4.0 + (2.0 if prev == "about" else 0.0) + pos_bonus)
            elif prev == "to" and i >= 2 and toks[i - 2].lower() in PREFERENCE_VERBS:
                # "I like to paint" -> "painting"
                if low.isalpha() and low not in FUNCTION_WORDS:
                    offer([_gerund(low)], 4.5 + pos_bonus)
            elif (prev in PREFERENCE_VERBS or prev in PREPOSITIONS) and _plain_content(low):
                phrase = [tok]
                j = i + 1
                while j < n and len(phrase) < 3 and _plain_content(toks[j].lower()):
                    phrase.append(toks[j])
                    j += 1
                if j < n and len(phrase) < 3 and toks[j].lower() in _UNITS:
                    phrase.append(toks[j])  # "rainy days", "school years": the unit ends the thing
                base = 4.0 if prev in PREFERENCE_VERBS else 3.0
                if prev == "about":
                    base = 6.0
                first_at = i
                words = [
                    w if (w[:1].isupper() and first_at + k != start) else w.lower()
                    for k, w in enumerate(phrase)
                ]
                offer(words, base + pos_bonus)
            elif prev in ("go", "goes", "went", "going") and low.endswith("ing") and len(low) > 4:
                offer([low], 6.0 + pos_bonus)  # "I go hiking": the activity is the topic
            elif _plain_content(low) and _is_word(tok):
                word = low if i == start or not tok[:1].isupper() else tok
                offer([word], 1.0 + min(len(low), 12) / 12.0 + pos_bonus)
    return best


def _noun_phrase(toks: list[str], i: int) -> tuple[list[str], int]:
    """Up to three content words after a determiner (an intensifier may lead), and the end."""
    out: list[str] = []
    n = len(toks)
    while i < n and toks[i].lower() in INTENSIFIERS and not out:
        i += 1
    while i < n and len(out) < 3:
        tok = toks[i]
        low = tok.lower()
        if out and low in _UNITS:
            out.append(tok)  # "my school years"
            i += 1
            break
        if not _is_word(tok) or low in FUNCTION_WORDS:
            break
        if out and (low in VERBS or low.endswith("ing") or low.endswith("ed")):
            break
        if out and low in FEELING_WORDS:
            break
        # An adjective after the noun ends the phrase ("the sky blue?" -> "the sky"),
        # unless a noun follows it ("my big red car").
        nxt = toks[i + 1].lower() if i + 1 < n else ""
        if out and low in ADJECTIVES and not (_is_word(nxt) and nxt not in FUNCTION_WORDS):
            break
        if not out and (low in VERBS and low not in ("love", "work", "play", "study")):
            break
        out.append(tok)
        i += 1
    return out, i


def _extend_with_name(toks: list[str], j: int, phrase: list[str]) -> list[str]:
    """Keep a following "to/in/of/from Name" with a phrase: "my trip to Japan"."""
    if (
        j + 1 < len(toks)
        and toks[j].lower() in ("to", "in", "of", "from", "at")
        and toks[j + 1][:1].isupper()
        and _is_word(toks[j + 1])
        and toks[j + 1].lower() not in PROPER_STOP
    ):
        k = j + 1
        while k < len(toks) and toks[k][:1].isupper() and _is_word(toks[k]) and k < j + 4:
            k += 1
        return [*phrase, *toks[j:k]]
    return phrase


def _gerund(verb: str) -> str:
    """A plain -ing form: paint -> painting, dance -> dancing, swim -> swimming."""
    if verb.endswith("ing"):
        return verb
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    vowels = "aeiou"
    if (
        len(verb) <= 4
        and len(verb) >= 3
        and verb[-1] not in vowels + "wxy"
        and verb[-2] in vowels
        and verb[-3] not in vowels
    ):
        return verb + verb[-1] + "ing"
    return verb + "ing"


def first_person_clause(text: str) -> str | None:
    """The first "I ..." clause, reflected ("I lost my job" -> "you lost your job"), or None.

    Only short, self-contained clauses qualify: the clause stops at punctuation or
    a conjunction, must have at least two words after the pronoun, and is skipped
    when it mentions the listener (reflecting "you" as well would garble it) or is
    a hedge with no content ("I don't know", "I guess").
    """
    for sent in sentences(text):
        if sent.rstrip().endswith("?"):
            continue
        toks = tokens(sent)
        i = _first_word_index(toks)
        # "I think I failed my exam": the clause is what comes after the hedge.
        low = [t.lower() for t in toks]
        for hedge in (("i", "think"), ("i", "guess"), ("i", "feel", "like"), ("i", "believe")):
            k = len(hedge)
            if (
                tuple(low[i : i + k]) == hedge
                and i + k < len(low)
                and low[i + k]
                in (
                    "i",
                    "i'm",
                    "i've",
                )
            ):
                i += k
                break
        if i >= len(toks) or low[i] not in ("i", "i'm", "im", "i've", "i'd", "i'll"):
            continue
        clause: list[str] = []
        for tok in toks[i:]:
            tl = tok.lower()
            if not _is_word(tok) or tl in ("and", "but", "because", "though", "although"):
                break
            clause.append(tok)
            if len(clause) >= 12:
                break
        cl = [t.lower() for t in clause]
        if len(clause) < 3 and not (len(clause) == 2 and cl[0] in ("i'm", "im", "i've")):
            continue
        if not any(t not in FUNCTION_WORDS and len(t) <= 20 for t in cl):
            continue  # "I I I I": nothing to reflect
        if any(t in ("you", "your", "yours", "yourself", "you're", "u") for t in cl):
            continue
        if cl[:3] in (["i", "don't", "know"], ["i", "do", "not"]) or cl[:2] in (
            ["i", "guess"],
            ["i", "mean"],
            ["i", "suppose"],
            ["i", "think"],
            ["i", "wonder"],
            ["i", "hope"],
            ["i", "wish"],
        ):
            continue
        words = [_reflect_word(t) for t in clause]
        # Lower-case everything but names, so the clause can sit mid-sentence.
        out = [
            w if (w[:1].isupper() and j > 0 and w.lower() not in FUNCTION_WORDS) else w.lower()
            for j, w in enumerate(words)
        ]
        out = [w.replace("i'm", "I'm").replace("i've", "I've") for w in out]
        return " ".join(out)
    return None


def question_frame(sentence: str) -> tuple[str | None, str | None]:
    """The question frame of one sentence and its argument (e.g. the favourite's category)."""
    s = normalise(sentence)
    # Anchored patterns also get the part after a lead-in: "Quick question: are you into X?"
    parts = [s, *(s.rsplit(sep, 1)[1].strip() for sep in (":", ",", " - ") if sep in s)]
    for name, pattern in QUESTION_FRAMES:
        for part in parts:
            m = pattern.search(part)
            if m:
                arg = m.group(1).lower() if name == "favourite" else None
                return name, arg
    return None, None


def _question_kind(sentence: str) -> str | None:
    """ "wh", "yesno" or None when ``sentence`` is not a question."""
    toks = tokens(sentence)
    i = _first_word_index(toks)
    first = toks[i].lower() if i < len(toks) else ""
    s = sentence.strip()
    words = [t for t in toks if _is_word(t)]
    exclaim = re.match(r"^\W*(what an?|how (nice|lovely|cool|sweet|sad|great|awful))\b", s, re.I)
    looks_like = (first in WH_WORDS or first in AUX_WORDS) and not exclaim
    if s.endswith("?") or (looks_like and len(words) <= 12 and not s.endswith("!")):
        if first in WH_WORDS or (first == "tell" and i + 1 < len(toks)):
            return "wh"
        return "yesno"
    if first == "tell" and len(toks) > i + 1 and toks[i + 1].lower() == "me":
        return "wh"
    return None


def analyse(text: str) -> Analysis:
    """Read one message: its intent, question frame, topic and first-person clause."""
    text = normalise(text)
    sents = sentences(text) or [text]
    greeted = bool(GREETING_PHRASE.match(sents[0]))
    words = [t for t in tokens(text) if _is_word(t)]
    short = len(words) <= 6

    farewell = any(FAREWELL_PHRASE.search(s) for s in sents[-2:]) and (
        short or bool(FAREWELL_PHRASE.match(sents[-1]))
    )
    thanks = bool(THANKS_PHRASE.match(sents[0])) or (short and bool(THANKS_ANYWHERE.search(text)))
    # "Wow, really?" is a reaction, not a question: short ones count only in a known frame.
    question_sents = [
        s
        for s in sents
        if _question_kind(s)
        and (sum(_is_word(t) for t in tokens(s)) >= 3 or question_frame(s)[0] is not None)
    ]
    topic_source = question_sents[-1] if question_sents else text
    topic = find_topic(topic_source) or find_topic(text)
    clause = first_person_clause(text)
    negative = bool(NEGATIVE_OPINION.search(text))

    frame: str | None = None
    arg: str | None = None
    if farewell:
        intent = "farewell"
    elif question_sents:
        q = question_sents[-1]
        intent = _question_kind(q) or "yesno"
        frame, arg = question_frame(q)
    elif thanks:
        intent = "thanks"
    elif greeted and len(words) <= 4:
        intent = "greeting"
    elif INSULT.search(text):
        intent = "insult"
    elif COMPLIMENT.search(text):
        intent = "compliment"
    elif OPINION.search(text) and not re.search(r"\bi (think|feel like|believe) i\b", text, re.I):
        intent = "opinion"
    else:
        intent = "statement"
    return Analysis(intent, frame, arg, topic, clause, greeted, negative)


# What a speaker says of their own ties to a thing: a fan ("I love it", "I've been hooked ever
# since") or new to it ("I don't know much about it"). A persona that said one never says the other.
_FAN = re.compile(
    r"\b(?:i love|i do!|yes, i really do|obsessed with|i'm a fan of|soft spot for|hooked|really stuck with me|"
    r"has been on my mind|just makes me happy|for ages|one of my favourite|been thinking about .{1,40} lately|"
    r"started when i was little)\b",
    re.I,
)
_NEW = re.compile(
    r"\b(?:not really, to be honest|i don't know much about|i've always wondered about)\b", re.I
)


def stance(text: str) -> str | None:
    """ "fan", "new" or None: what ``text`` says of the speaker's own ties to its topic."""
    fan, new = bool(_FAN.search(text)), bool(_NEW.search(text))
    return None if fan == new else "fan" if fan else "new"
