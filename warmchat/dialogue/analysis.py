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

# --- word lists --------------------------------------------------------------------------

# Words that never start or continue a topic phrase: pronouns, auxiliaries,
# prepositions, conjunctions, fillers, vague nouns and time adverbs.
FUNCTION_WORDS: frozenset[str] = frozenset(
    """
    a an the this that these those some any my your our his her their its
    i me you we us they them he she it myself yourself ourselves themselves mine yours
    ours theirs hers him i'm i've i'd i'll you're you've you'd you'll we're they're
    he's she's it's that's there's what's here's im ive id ill dont
    is am are was were be been being do does did done doing have has had having
    will would shall should can could may might must won't can't don't doesn't didn't
    isn't aren't wasn't weren't haven't hasn't hadn't wouldn't couldn't shouldn't
    to of in on at by for with about from into onto over under up down out off as than
    then so and or but if because while when where what which who whom whose why how
    not no nor yes yeah yep nope ok okay oh ah aw um uh hmm well just really very quite
    pretty too also even still already yet again ever never always often sometimes
    usually maybe perhaps probably actually honestly literally basically totally kind
    sort lot lots bit little much many more most less least all every each both either
    neither other another such own same there here now today tonight tomorrow
    yesterday lately recently soon later ago time times thing things stuff something
    anything nothing everything someone anyone everyone somebody anybody nobody one
    ones way ways part parts lol haha please like
    two three four five six seven eight nine ten eleven twelve twenty hundred few several
    couple dozen minute minutes hour hours days weeks months years
    hi hello hey hiya howdy greetings thanks thank bye goodbye
    """.split()
)

# Common verbs: they end a topic phrase and are never a topic on their own.
VERBS: frozenset[str] = frozenset(
    """
    think thought know knew known feel felt feels feeling want wanted wants need
    needed needs like liked likes love loved loves hate hated hates say said says
    tell told tells see saw seen sees look looked looks looking go goes going went
    gone get gets got getting gotten make makes made making take takes took taken
    come comes came coming try tries tried trying give gives gave given let lets put
    seem seems seemed keep keeps kept mean means meant guess hope hoped hopes wish
    wished talk talks talked talking ask asked asks find found finds leave left
    start started starts happen happened happens believe believed wonder wondered
    use used call called turn turned show showed help helped helps play played
    plays lost lose losing won win wins failed fail passed pass bought buy sold sell
    broke break broken tell told met meet meets became become becomes remember
    remembered forgot forget miss missed prefer preferred enjoy enjoyed enjoys
    adore adored watch watched read reads wrote write writes ran run runs doing
    cook cooked learn learned learnt study studied
    """.split()
)

# Feelings and evaluations: the emotion, not the topic, of a message.
FEELING_WORDS: frozenset[str] = frozenset(
    """
    happy sad angry mad upset scared afraid worried anxious nervous excited glad great
    good bad fine terrible awful horrible amazing awesome wonderful lovely nice cool
    fun funny sorry tired exhausted lonely depressed down frustrated annoyed furious
    thrilled proud grateful thankful surprised shocked disgusted gross weird crazy hard
    difficult easy tough alright sure right wrong best worst better worse beautiful
    boring interesting stressed stressful heartbroken devastated miserable unfair sick
    fantastic brilliant incredible perfect glad delighted ecstatic overjoyed scary
    terrified frightened disappointed hopeless jealous ashamed embarrassed relieved
    stupid dumb idiot useless rude mean silly lame rough
    """.split()
)

# Verbs whose object is what the speaker is talking about ("I love cooking").
PREFERENCE_VERBS: frozenset[str] = frozenset(
    """
    love loves loved like likes liked enjoy enjoys enjoyed hate hates hated miss misses
    missed prefer prefers adore adores play plays playing played watch watches watching
    read reading tried try trying learning learn studying study into about
    """.split()
)

# Plain descriptive adjectives (colours, sizes, ages) that may end a noun phrase.
_ADJECTIVES: frozenset[str] = frozenset(
    """
    red blue green yellow black white grey gray brown pink purple orange big small
    large tiny huge old new young long short hot cold warm cool high low fast slow
    """.split()
)

POSSESSIVES: frozenset[str] = frozenset("my your our his her their".split())
DETERMINERS: frozenset[str] = POSSESSIVES | frozenset("the this that these those a an some".split())
PREPOSITIONS: frozenset[str] = frozenset("about with for of to at in on into from".split())
# Adverbs allowed between a determiner and its noun ("my really old car").
_INTENSIFIERS: frozenset[str] = frozenset("really very so pretty super quite".split())

WH_WORDS: frozenset[str] = frozenset(
    "what why how where when who which whose whom what's how's where's who's when's why's".split()
)
AUX_WORDS: frozenset[str] = frozenset(
    """
    do does did is are am was were can could would will should shall have has had may
    might must don't doesn't didn't isn't aren't can't couldn't wouldn't won't
    shouldn't haven't hasn't
    """.split()
)
GREETING_WORDS: frozenset[str] = frozenset("hi hello hey hiya howdy greetings yo".split())
# Words skipped at the start of a sentence when looking for its first real word.
_LEADING_FILLERS: frozenset[str] = frozenset(
    "so and but well oh hey okay ok hi hello um uh hmm then also anyway alright".split()
)

_GREETING_PHRASE = re.compile(
    r"^(hi|hello|hey|hiya|howdy|greetings|yo|good (morning|afternoon|evening))\b", re.I
)
_FAREWELL_PHRASE = re.compile(
    r"^(bye|goodbye|good ?night|see you|see ya|talk (to you )?(later|soon)|take care|"
    r"i have to go|i('ve| have)? gotta go|i need to go|catch you later|farewell|later)\b"
    r"|\b(bye|goodbye|see you later|talk soon|good ?night)\W*$",
    re.I,
)
_THANKS_PHRASE = re.compile(r"^(thanks|thank you|thank u|thx|ty|cheers|many thanks)\b", re.I)
_THANKS_ANYWHERE = re.compile(r"\b(thank you|thanks|i appreciate (it|that|you))\b", re.I)
# Things said to the agent itself.
_COMPLIMENT = re.compile(
    r"\b(i (really )?(love|like|adore) (you|talking to you|chatting with you)|"
    r"you('re| are) (so |really )?(sweet|kind|nice|great|amazing|funny|lovely|the best|"
    r"awesome))\b",
    re.I,
)
_INSULT = re.compile(
    r"\b(i hate you|you('re| are) (so |really )?(stupid|dumb|useless|annoying|boring|rude|"
    r"the worst|an idiot)|you suck|shut up)\b",
    re.I,
)
_OPINION = re.compile(
    r"\b(i think|i believe|i feel like|in my opinion|i reckon|i love|i like|i hate|"
    r"i prefer|i adore|i can't stand|i cannot stand|i don't like|i do not like|i dislike|"
    r"(is|are) (the best|the worst|overrated|underrated|amazing|awful|boring))\b",
    re.I,
)
_NEGATIVE_OPINION = re.compile(
    r"\b(hate|can't stand|cannot stand|don't like|do not like|dislike|worst|overrated|"
    r"awful|terrible|boring|annoying|stupid|pointless)\b",
    re.I,
)

# Question frames: what kind of answer a question wants. Checked in order, so the
# more specific patterns come first. The offline engine's own follow-up questions
# all fall into one of these frames, so two offline personas can talk to each other.
QUESTION_FRAMES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("joke", r"\b(tell|know) (me )?(a|any|another) joke"),
        ("are_you_ai", r"\bare you (a |an )?(robot|ai|bot|real|human|machine|person)\b"),
        ("age", r"\bhow old are you\b"),
        ("where_live", r"\bwhere (do|are) you (live|from)\b"),
        (
            "identity",
            r"\bwhat('?s| is) your name\b|\bwho are you\b|\bwhat should i call you\b|"
            r"\bwho do i have\b|\btell me about yourself\b|\bwho am i talking to\b",
        ),
        ("what_do_you_do", r"\bwhat do you do\b(?! (about|with|when|if|for))"),
        ("favourite", r"\bfavou?rite (?!part\b|bit\b|moment\b|thing\b)([a-z]+)"),
        ("celebrate", r"\bcelebrate\b"),
        ("reaction", r"\b(first )?reaction\b"),
        (
            "about_you",
            r"^\W*(and |so |but )?(what|how) about you\W*$|^\W*(and )?(you|yours)\W*$|"
            r"^\W*(and )?what('?s| is) yours\W*$|^\W*and you\W*$",
        ),
        ("are_you_ok", r"\bare you (okay|ok|alright|all right|doing okay)\b"),
        (
            "feeling",
            r"\bhow (are|were) you feeling\b|\bhow do(es)? (that|it|this) (make you )?feel\b|"
            r"\bhow did (that|it|this) (make you )?feel\b|\bhow are you holding up\b|"
            r"\bhow do you feel (now|today|about it|about that)?\W*$",
        ),
        (
            "how_are_you",
            r"\bhow are you(?! going| planning| getting)( doing| today)?\b|"
            r"\bhow('?s| is) it going\b|\bhow have you been\b|"
            r"\bhow are things\b|\bhow('?s| is| was) your (day|week|morning|evening)\b|"
            r"\bhow('?s| is) life\b|\bhow('?s| has) your day been\b",
        ),
        ("whats_up", r"\bwhat('?s| is) (up|new)\b|\bwhat are you up to\b"),
        (
            "on_mind",
            r"\bwhat('?s| is|'?s been| has been) on your mind( today| lately)?\W*$|"
            r"\bwhat would you like to talk about\b|"
            r"\bwhat do you want to talk about\b|\banything else you'?d like to talk about\b",
        ),
        (
            "want_talk",
            r"\b(want|like|need) to (talk|vent|tell me|say more)\b|"
            r"\bhelp to talk\b|\btalk it through\b",
        ),
        ("talked_to", r"\b(talk|talked|spoken|speak) to anyone\b"),
        (
            "anything_help",
            r"\bis there anything\b|\bwhat would help\b|\bwhat do you need\b|"
            r"\bhow can i help\b|\bwhat can i do\b|\bfeel (a bit |a little )?(safer|better)\b|"
            r"\bmore manageable\b",
        ),
        (
            "hobby",
            r"\bwhat do you (like|love|enjoy) (to do|doing)\b|\bwhat are your hobbies\b|"
            r"\bwhat do you do for fun\b|\bdo you have (a|any) hobb",
        ),
        (
            "advice",
            r"\bshould i\b|\bany (advice|tips)\b|\bdo you think i (should|could|can|ought)\b|"
            r"\bwhat would you do\b|\bwhat do i do\b|\bhow (can|do|should) i\b",
        ),
        ("worry", r"\bwhat worries you\b|\bwhat('?s| is) worrying you\b|\bwhat scares you\b"),
        ("bothered", r"\bwhat (bothered|bothers|upset|upsets|annoyed|annoys) you\b"),
        ("best_part", r"\b(best|favou?rite|nicest) (part|bit|moment)\b"),
        ("hardest_part", r"\b(hardest|worst|toughest|most difficult) (part|bit|moment)\b"),
        ("special", r"\bwhat made (it|that|this|.+) so (special|good|great|fun)\b"),
        (
            "origin",
            r"\bwhat got you (into|thinking)\b|\bhow did you (get|first get) into\b|"
            r"\bwhat made you (start|get into|pick)\b|\bhow did you start\b",
        ),
        ("duration", r"\bhow long\b"),
        (
            "tell_more",
            r"\btell me (more )?about\b|\bwhat('?s| is) (the|your) story\b|"
            r"\bwhat was it like\b",
        ),
        (
            "what_happened",
            r"\bwhat happened\b|\bhow did (it|that|this|.+) happen\b|"
            r"\btell me more\b|\bwhat happens next\b",
        ),
        (
            "plans",
            r"\bwhat('?s| is) next\b|\bany plans\b|\bwhat are you (planning|going to do)\b|"
            r"\bwhat will you do\b|\bplans for\b|\bwhat do you think you'?ll do\b",
        ),
        ("who", r"^\W*who\b|\bwho (did|do|was|were|has|have)\b"),
        (
            "opinion_q",
            r"\bwhat do you think\b|\bwhat('?s| is) your (opinion|take|view)\b|"
            r"\bhow do you feel about\b|\bwhat do you make of\b|\bthoughts on\b|"
            r"\bwhat comes to mind\b|\bmean to you\b|\bwhat('?s| is) the deal with\b",
        ),
        (
            "love_about",
            r"\bwhat do you (love|like|enjoy) (most |best )?about\b|"
            r"\bwhat('?s| is) (so )?(great|good|special) about\b|\bwhat stands out\b|"
            r"\bwhat is it about\b",
        ),
        (
            "do_you_like",
            r"^\W*(do|would) you (like|love|enjoy|prefer)\b|"
            r"^\W*are you (into|a fan of)\b|^\W*you (like|love|enjoy)\b",
        ),
        (
            "have_you",
            r"^\W*have you (ever )?(tried|been|seen|done|had|read|heard|met|visited|"
            r"played|watched|cooked|made)\b",
        ),
        (
            "why",
            r"^\W*why\b|\bwhat made you\b|\bhow come\b|^\W*how so\W*$|"
            r"\bwhat makes you say\b",
        ),
    )
)

_PROPER_STOP: frozenset[str] = frozenset("i i'm i've i'd i'll".split())

# Reflections from the speaker's point of view to the listener's.
_REFLECT: dict[str, str] = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "am": "are",
    "i'm": "you're",
    "im": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "was": "were",
    "our": "your",
    "ours": "yours",
    "us": "you",
    "we": "you",
    "we're": "you're",
    "we've": "you've",
    "your": "my",
    "yours": "mine",
    "yourself": "myself",
    "you": "me",
    "you're": "I'm",
    "you've": "I've",
    "you'd": "I'd",
    "you'll": "I'll",
}

_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)*|[.,!?;:]")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")


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


def sentences(text: str) -> list[str]:
    """Split into sentences at ., ! and ? followed by a space."""
    return [s for s in _SENTENCE_RE.split(normalise(text)) if s.strip()]


def tokens(text: str) -> list[str]:
    """Words (apostrophes kept inside: "don't", "I'm") and punctuation marks."""
    return _TOKEN_RE.findall(normalise(text))


def _reflect_word(word: str) -> str:
    low = word.lower()
    if low in _REFLECT:
        out = _REFLECT[low]
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
    while i < len(toks) and (not _is_word(toks[i]) or toks[i].lower() in _LEADING_FILLERS):
        i += 1
    return i


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
                and low not in _PROPER_STOP
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
    while i < n and toks[i].lower() in _INTENSIFIERS and not out:
        i += 1
    while i < n and len(out) < 3:
        tok = toks[i]
        low = tok.lower()
        if not _is_word(tok) or low in FUNCTION_WORDS:
            break
        if out and (low in VERBS or low.endswith("ing") or low.endswith("ed")):
            break
        if out and low in FEELING_WORDS:
            break
        # An adjective after the noun ends the phrase ("the sky blue?" -> "the sky"),
        # unless a noun follows it ("my big red car").
        nxt = toks[i + 1].lower() if i + 1 < n else ""
        if out and low in _ADJECTIVES and not (_is_word(nxt) and nxt not in FUNCTION_WORDS):
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
        and toks[j + 1].lower() not in _PROPER_STOP
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
    greeted = bool(_GREETING_PHRASE.match(sents[0]))
    words = [t for t in tokens(text) if _is_word(t)]
    short = len(words) <= 6

    farewell = any(_FAREWELL_PHRASE.search(s) for s in sents[-2:]) and (
        short or bool(_FAREWELL_PHRASE.match(sents[-1]))
    )
    thanks = bool(_THANKS_PHRASE.match(sents[0])) or (short and bool(_THANKS_ANYWHERE.search(text)))
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
    negative = bool(_NEGATIVE_OPINION.search(text))

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
    elif _INSULT.search(text):
        intent = "insult"
    elif _COMPLIMENT.search(text):
        intent = "compliment"
    elif _OPINION.search(text) and not re.search(r"\bi (think|feel like|believe) i\b", text, re.I):
        intent = "opinion"
    else:
        intent = "statement"
    return Analysis(intent, frame, arg, topic, clause, greeted, negative)
