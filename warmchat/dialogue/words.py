"""Word lists and phrase patterns of the offline engine's reading of a message (``analysis``).

Data, written as code because most entries are regular expressions: words that
never start a topic, verbs, feelings, greetings, thanks and farewells,
compliments and insults, the question frames (what kind of question a sentence
asks, and of what), and how words turn around to the other speaker's view.
"""

from __future__ import annotations

import re

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
ADJECTIVES: frozenset[str] = frozenset(
    """
    red blue green yellow black white grey gray brown pink purple orange big small
    large tiny huge old new young long short hot cold warm cool high low fast slow
    """.split()
)

POSSESSIVES: frozenset[str] = frozenset("my your our his her their".split())
DETERMINERS: frozenset[str] = POSSESSIVES | frozenset("the this that these those a an some".split())
PREPOSITIONS: frozenset[str] = frozenset("about with for of to at in on into from".split())
# Adverbs allowed between a determiner and its noun ("my really old car").
INTENSIFIERS: frozenset[str] = frozenset("really very so pretty super quite".split())

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
LEADING_FILLERS: frozenset[str] = frozenset(
    "so and but well oh hey okay ok hi hello um uh hmm then also anyway alright".split()
)

GREETING_PHRASE = re.compile(
    r"^(hi|hello|hey|hiya|howdy|greetings|yo|good (morning|afternoon|evening))\b", re.I
)
FAREWELL_PHRASE = re.compile(
    r"^(bye|goodbye|good ?night|see you|see ya|talk (to you )?(later|soon)|take care|"
    r"i have to go|i('ve| have)? gotta go|i need to go|catch you later|farewell|later)\b"
    r"|\b(bye|goodbye|see you later|talk soon|good ?night)\W*$",
    re.I,
)
THANKS_PHRASE = re.compile(r"^(thanks|thank you|thank u|thx|ty|cheers|many thanks)\b", re.I)
THANKS_ANYWHERE = re.compile(r"\b(thank you|thanks|i appreciate (it|that|you))\b", re.I)
# Things said to the agent itself.
COMPLIMENT = re.compile(
    r"\b(i (really )?(love|like|adore) (you|talking to you|chatting with you)|"
    r"you('re| are) (so |really )?(sweet|kind|nice|great|amazing|funny|lovely|the best|"
    r"awesome))\b",
    re.I,
)
INSULT = re.compile(
    r"\b(i hate you|you('re| are) (so |really )?(stupid|dumb|useless|annoying|boring|rude|"
    r"the worst|an idiot)|you suck|shut up)\b",
    re.I,
)
OPINION = re.compile(
    r"\b(i think|i believe|i feel like|in my opinion|i reckon|i love|i like|i hate|"
    r"i prefer|i adore|i can't stand|i cannot stand|i don't like|i do not like|i dislike|"
    r"(is|are) (the best|the worst|overrated|underrated|amazing|awful|boring))\b",
    re.I,
)
NEGATIVE_OPINION = re.compile(
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

PROPER_STOP: frozenset[str] = frozenset("i i'm i've i'd i'll".split())

# Reflections from the speaker's point of view to the listener's.
REFLECT: dict[str, str] = {
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

TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)*|[.,!?;:]")
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
