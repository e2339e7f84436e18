"""Wording of the offline engine: sentence pools per reply part, emotion and persona style.

A reply is built from parts (an opener that reacts to the emotion, a core that
reflects or answers, a follow-up question), each drawn from a pool. A pool has
shared lines (``"*"``) and lines for one style (``"warm"``, ``"playful"``,
``"calm"``); a persona draws from the shared lines plus its own style's.

Placeholders: ``{topic}`` / ``{Topic}`` (the topic phrase, seen from the replier,
capitalised in the second form), ``{clause}`` (the other speaker's "I ..." clause
turned around: "you lost your job"), ``{name}`` and ``{description}`` (the
persona), ``{fav}`` / ``{cat}`` (a favourite and its category), ``{fresh}`` (a new
topic to bring up). A line whose placeholders cannot be filled is not drawn.

Every follow-up question here falls into one of the question frames of
``analysis.QUESTION_FRAMES``, so that two offline personas can answer each other.
"""

from __future__ import annotations

Pool = dict[str, tuple[str, ...]]

POOLS: dict[str, Pool] = {
    # --- openers: a first reaction to the other speaker's emotion --------------------
    "open.sad": {
        "*": (
            "Oh, I'm so sorry.",
            "That sounds really hard.",
            "That must hurt.",
            "Oh no.",
            "That's a lot to deal with.",
        ),
        "warm": (
            "Oh no, my heart goes out to you.",
            "Aw, I'm really sorry.",
            "Oh, that sounds so painful.",
        ),
        "playful": ("Oh no, that's rough.", "Ugh, that really stinks.", "Oof, that's a heavy one."),
        "calm": ("I'm sorry. That sounds heavy.", "That sounds difficult.", "I hear you."),
    },
    "open.fearful": {
        "*": (
            "That sounds really scary.",
            "Oh, that would worry me too.",
            "That sounds stressful.",
            "I can see why that would make you anxious.",
        ),
        "warm": ("Oh, that sounds frightening.", "Oh dear, no wonder you're on edge."),
        "playful": ("Yikes, that sounds nerve-wracking.", "Oof, that's a lot of nerves."),
        "calm": ("Let's take a breath together.", "That sounds worrying."),
    },
    "open.angry": {
        "*": (
            "That sounds really frustrating.",
            "I can see why that would make you angry.",
            "Your frustration makes total sense.",
            "Ugh, that's not okay.",
        ),
        "warm": ("Oh, that would upset me too.", "I'd be upset too, honestly."),
        "playful": (
            "Ugh, that would drive me up the wall too.",
            "Okay, that's genuinely annoying.",
        ),
        "calm": ("It's fair to feel angry about that.", "I understand why you're upset."),
    },
    "open.happy": {
        "*": (
            "That's wonderful!",
            "Oh, I love that!",
            "That's such good news!",
            "How lovely!",
            "That's fantastic!",
        ),
        "warm": ("Oh, that makes me so happy to hear!", "That's just the best news."),
        "playful": ("Ooh, nice one!", "Yes! That's brilliant!", "Woohoo, love it!"),
        "calm": ("That's really good to hear.", "How nice.", "That's lovely."),
    },
    "open.surprised": {
        "*": (
            "Wow, really?",
            "No way!",
            "Oh, I didn't see that coming!",
            "Whoa, that's unexpected!",
        ),
        "warm": ("Oh my goodness!",),
        "playful": ("Wait, what? Seriously?", "Get out of here!"),
        "calm": ("Huh, that's surprising.", "Oh, interesting, I wouldn't have guessed."),
    },
    "open.disgusted": {
        "*": ("Ew, that sounds awful.", "Yuck, that's really unpleasant.", "Oh no, that's gross."),
        "warm": ("Oh dear, that sounds so unpleasant.",),
        "playful": ("Eww, no thank you!", "Yikes, that's nasty."),
        "calm": ("That sounds pretty unpleasant.",),
    },
    "open.neutral": {
        "*": ("I see.", "Oh, interesting.", "Mm, got it.", "Okay, I'm with you."),
        "warm": ("Oh, thanks for sharing that with me.", "Oh, I like hearing about that."),
        "playful": ("Ooh, okay!", "Oh, fun!", "Huh, nice."),
        "calm": ("I see what you mean.", "Mm, that makes sense."),
    },
    # --- cores: reflect what was said ------------------------------------------------
    "core.sad": {
        "*": (
            "It sounds like {clause}, and that's a lot to carry.",
            "When {clause}, it's natural to feel low.",
            "I can tell how much {topic} matters to you.",
            "It makes sense that {topic} is weighing on you.",
            "Nobody should have to go through that alone.",
            "You don't have to have it all figured out right now.",
        ),
        "warm": (
            "I'm right here with you.",
            "Thank you for telling me about {topic}; that takes courage.",
        ),
        "playful": ("For what it's worth, you're handling it better than you think.",),
        "calm": ("Let's take it slowly.", "Feelings like this usually come in waves."),
    },
    "core.fearful": {
        "*": (
            "It makes sense to be worried about {topic}.",
            "It sounds like {clause}, and that's a lot of uncertainty.",
            "Worry usually means you care a lot about {topic}.",
            "Whatever happens with {topic}, you don't have to face it alone.",
            "Fear makes everything feel bigger than it is.",
        ),
        "warm": ("You're braver than you feel right now.",),
        "playful": ("Nerves just mean it matters, right?",),
        "calm": ("One step at a time is enough.",),
    },
    "core.angry": {
        "*": (
            "It sounds like {clause}, and that isn't fair.",
            "It makes sense that {topic} got under your skin.",
            "Nobody likes feeling unheard, especially about {topic}.",
            "Anger usually means something important to you got stepped on.",
        ),
        "warm": ("You deserve to be treated better than that.",),
        "playful": ("Honestly, I'd be fuming too.",),
        "calm": ("Let's slow down for a second and look at it together.",),
    },
    "core.happy": {
        "*": (
            "I'm so glad {clause}!",
            "It sounds like {clause}, and you deserve it.",
            "{Topic} sounds like a real highlight.",
            "I can hear how much {topic} means to you.",
            "You must be thrilled about {topic}.",
            "Moments like that are worth holding on to.",
        ),
        "warm": ("You really deserve good things.",),
        "playful": ("This calls for a little happy dance.",),
        "calm": ("It's nice when things fall into place.",),
    },
    "core.surprised": {
        "*": (
            "{Topic}, of all things! Now I'm curious.",
            "It sounds like {clause}, and that's quite a twist.",
            "I wouldn't have guessed that about {topic}.",
            "Life really keeps us on our toes.",
        ),
        "playful": ("Plot twist!",),
        "calm": ("Things can turn quickly, can't they.",),
    },
    "core.disgusted": {
        "*": (
            "No wonder {topic} put you off.",
            "It sounds like {clause}, which would turn anyone's stomach.",
            "Some things just cross a line, and {topic} sounds like one of them.",
        ),
        "playful": ("I'm cringing just hearing about it.",),
        "calm": ("That would put anyone off.",),
    },
    "core.neutral": {
        "*": (
            "{Topic} sounds interesting.",
            "I'd love to hear more about {topic}.",
            "I don't know much about {topic}, but I'm curious.",
            "It sounds like {clause}.",
            "I've always wondered about {topic}.",
        ),
        "warm": ("It sounds like {topic} means something to you.",),
        "playful": ("{Topic}? Now we're talking.",),
        "calm": ("{Topic} is worth thinking about.",),
    },
    # --- follow-up questions -----------------------------------------------------------
    "follow.sad": {
        "*": (
            "Do you want to tell me more about {topic}?",
            "What's been the hardest part about {topic}?",
            "How are you holding up?",
            "Is there anything that would make today a little easier?",
            "Who's been there for you through this?",
        ),
        "warm": ("Would it help to talk it through together?",),
        "playful": ("Want to vent about it a bit more?",),
        "calm": ("What do you need most right now?",),
    },
    "follow.fearful": {
        "*": (
            "What worries you most about {topic}?",
            "Is there one small thing that would make {topic} feel more manageable?",
            "What would help you feel a bit safer right now?",
            "Have you been able to talk to anyone about {topic}?",
        ),
        "warm": ("Do you want to talk it through together?",),
        "playful": ("Want to talk through the worst-case scenario and shrink it a bit?",),
        "calm": ("What do you need most right now?",),
    },
    "follow.angry": {
        "*": (
            "What bothered you most about {topic}?",
            "What happened right before it boiled over?",
            "Do you want to vent a bit more, or think about what to do next?",
            "What would help you feel better about {topic}?",
        ),
        "calm": ("What would help you feel calmer right now?",),
    },
    "follow.happy": {
        "*": (
            "What was the best part of {topic}?",
            "How are you going to celebrate?",
            "What made {topic} so special?",
            "Who did you share {topic} with?",
            "What's next for you after {topic}?",
        ),
        "warm": ("How did it feel when it all came together?",),
        "playful": ("Okay, tell me everything: how did {topic} happen?",),
        "calm": ("How does it feel, now that it's happened?",),
    },
    "follow.surprised": {
        "*": (
            "How did {topic} happen?",
            "What was your first reaction to {topic}?",
            "Did you see {topic} coming at all?",
            "What happens next with {topic}?",
        ),
        "playful": ("Okay, I need the whole story: what happened?",),
    },
    "follow.disgusted": {
        "*": (
            "What was the worst part about {topic}?",
            "Are you okay now?",
            "What happened after that?",
        ),
    },
    "follow.neutral": {
        "*": (
            "What do you love most about {topic}?",
            "What's the story behind {topic}?",
            "How do you feel about {topic}?",
            "What got you thinking about {topic}?",
            "Could you tell me more about {topic}?",
            "What comes to mind when you think about {topic}?",
        ),
        "warm": ("What is it about {topic} that speaks to you?",),
        "playful": ("So what's your story with {topic}?",),
        "calm": ("What stands out to you about {topic}?",),
    },
    # Follow-ups when no topic is known.
    "follow.open": {
        "*": (
            "Could you tell me more?",
            "What makes you say that?",
            "How so?",
            "What's on your mind?",
        ),
        "playful": ("Go on, I'm all ears!",),
    },
    # Said to the agent itself.
    "compliment": {
        "*": (
            "Aw, that's so sweet of you!",
            "You just made my day.",
            "That's really kind, thank you.",
        ),
        "playful": ("Stop it, you'll make me blush!",),
        "calm": ("That's kind of you to say.",),
    },
    "insult": {
        "*": (
            "I'm sorry I upset you.",
            "Ouch. I'm sorry if I said something wrong.",
            "I hear you, and I'd like to do better.",
        ),
    },
    "follow.insult": {"*": ("What can I do better?", "What would help right now?")},
    # After advice: check in.
    "follow.advice": {
        "*": ("Does that feel doable?", "What do you think you'll do?", "Would that work for you?"),
    },
    # After answering a question: hand the turn back.
    "back.generic": {
        "*": ("What about you?", "How about you?", "And you?"),
    },
    # After "you're welcome": check in.
    "follow.thanks": {
        "*": (
            "How are you feeling now?",
            "Is there anything else on your mind?",
            "Anything else you'd like to talk about?",
        ),
    },
    "back.how_are_you": {
        "*": ("How about you?", "And how are you doing?", "How's your day been so far?"),
        "warm": ("How are you, really?",),
        "playful": ("Your turn: how's life treating you?",),
    },
    "back.identity": {
        "*": ("What should I call you?", "And who do I have the pleasure of talking to?"),
    },
    # --- answers to question frames ----------------------------------------------------
    "ans.how_are_you.good": {
        "*": (
            "I'm doing really well, thanks for asking!",
            "Pretty good, honestly, and better now that we're talking.",
        ),
        "warm": ("I'm well, thank you! It's lovely of you to ask.",),
        "playful": ("Never better! Well, maybe after a coffee.",),
        "calm": ("I'm doing fine, thank you. It's a quiet, good day.",),
    },
    "ans.how_are_you.low": {
        "*": (
            "Honestly, a little low today, but talking helps.",
            "I've had better days, but I'm okay.",
        ),
        "calm": ("A bit tired, but I'm all right.",),
    },
    "ans.feeling.good": {
        "*": (
            "Honestly, a lot better about {topic} now.",
            "Mostly hopeful, to be honest.",
            "Good, actually. Talking about {topic} helps.",
        ),
        "playful": ("Pretty great, if I'm honest!",),
        "calm": ("Settled. It feels clearer now.",),
    },
    "ans.feeling.low": {
        "*": (
            "Still a bit shaky, if I'm honest.",
            "Up and down. Some moments are easier than others.",
            "A little better than before, thanks to you.",
        ),
        "calm": ("Quieter inside than before, but it's still there.",),
    },
    "ans.identity": {
        "*": ("I'm {name}, {description}.", "My name's {name}! I'm {description}."),
    },
    "ans.favourite": {
        "*": (
            "My favourite {cat}? Probably {fav}.",
            "Oh, that's easy: {fav}.",
            "I'd have to say {fav}.",
        ),
        "playful": ("Ooh, {fav}, no contest.",),
        "calm": ("I think {fav}.",),
    },
    "ans.hobby": {
        "*": (
            "Mostly {fav}, if I'm honest.",
            "Oh, {fav}, whenever I get the chance.",
            "I'm happiest {fav}.",
        ),
    },
    "ans.favourite.unknown": {
        "*": (
            "Hmm, that's a tough one. My favourite {cat} changes with my mood.",
            "Oh, I can never pick just one {cat}.",
        ),
    },
    "ans.love_about": {
        "*": (
            "What I love most about {topic}? Honestly, the little surprises.",
            "I think it's how {topic} can make an ordinary day feel special.",
            "Probably the people I get to share {topic} with.",
            "The way {topic} never gets old, honestly.",
        ),
        "playful": ("Everything! But mostly the fun bits of {topic}.",),
        "calm": ("The quiet satisfaction of {topic}, I think.",),
    },
    "ans.origin": {
        "*": (
            "I think it started when I was little, and it just stuck.",
            "A friend brought up {topic} once, and I've been hooked ever since.",
            "Honestly, pure curiosity. {Topic} just grabbed me.",
        ),
    },
    "ans.duration": {
        "*": (
            "For a few years now, on and off.",
            "Longer than I'd like to admit!",
            "Only a little while, but it feels like ages.",
        ),
    },
    "ans.anything_help": {
        "*": (
            "Honestly, just having someone to talk to helps a lot.",
            "Just listening like this already helps.",
            "Maybe a quiet evening and a good night's sleep.",
        ),
        "playful": ("A big mug of hot chocolate wouldn't hurt!",),
    },
    "ans.want_talk": {
        "*": (
            "Yes, I think talking about {topic} would help.",
            "A little, yes. It's been on my mind.",
            "Sure, it helps to say it out loud.",
        ),
    },
    "ans.talked_to": {
        "*": (
            "A little, with a close friend. It helped more than I expected.",
            "Not really yet, but talking with you is a start.",
        ),
    },
    "ans.advice": {
        "*": (
            "If it feels right to you, I'd say go for it.",
            "I'd take it one small step at a time.",
            "Maybe sleep on it, and see what still feels true in the morning.",
            "Trust your gut on {topic}; it's usually right.",
        ),
        "playful": ("Life's short. I say go for it!",),
        "calm": ("I'd give it a little time, then decide.",),
    },
    "ans.opinion_q": {
        "*": (
            "I think {topic} is fascinating, honestly.",
            "I have a soft spot for {topic}.",
            "Honestly, {topic} grows on me the more I hear about it.",
            "I'm a fan of {topic}, though I can see why it's not for everyone.",
        ),
        "calm": ("I think {topic} deserves more thought than it gets.",),
    },
    # The same questions while the conversation is about something painful.
    "ans.opinion_q.low": {
        "*": (
            "Honestly, {topic} still stings a bit.",
            "I'm trying to see {topic} as a lesson, but it's hard.",
            "It's complicated. Some days it feels like a big deal, some days less.",
        ),
    },
    "ans.love_about.low": {
        "*": (
            "Right now, honestly, it's hard to see the good side of {topic}.",
            "I'm not sure I love much about it at the moment, but I'm hopeful.",
        ),
    },
    "ans.tell_more.low": {
        "*": (
            "It's been a rough few days with {topic}, honestly.",
            "There's a lot going on with {topic}, and I'm still sorting through it.",
        ),
    },
    "ans.origin.low": {
        "*": ("It started small, and then it just piled up.", "Honestly, it crept up on me."),
    },
    "ans.do_you_like.yes": {
        "*": (
            "I do! {Topic} always puts me in a good mood.",
            "Yes, I really do. {Topic} is one of my favourite things.",
            "I love {topic}, actually.",
            "Honestly, yes. {Topic} never gets old for me.",
        ),
        "playful": ("Are you kidding? I'm obsessed with {topic}!",),
    },
    "ans.do_you_like.no": {
        "*": ("Not really, to be honest, but I'm curious about {topic}.",),
    },
    "ans.have_you": {
        "*": (
            "I have, once or twice, and I loved it.",
            "Not yet, but {topic} is on my list.",
            "I have! It was more fun than I expected.",
        ),
    },
    "ans.what_happened": {
        "*": (
            "Well, it all happened pretty fast, honestly.",
            "It's a bit of a long story, but it came out of nowhere.",
            "Honestly, it just kind of happened, and I'm still taking it in.",
        ),
    },
    "ans.tell_more": {
        "*": (
            "Well, {topic} has been on my mind a lot lately.",
            "Honestly, {topic} surprised me more than I expected.",
            "Honestly, {topic} is one of those things that just makes me happy.",
            "It's a longer story than you'd think, but {topic} really stuck with me.",
        ),
        "playful": ("Oh, where do I even start with {topic}?",),
    },
    # A small personal aside after an answer, so answers are not all one-liners.
    "share": {
        "*": (
            "It always reminds me of lazy summer afternoons.",
            "I was just talking about {topic} with a friend the other day.",
            "Every time it comes up, I learn something new.",
            "There's something comforting about it.",
            "I think about {topic} more than I'd admit.",
        ),
        "warm": ("It's the kind of thing that makes a day feel gentler.",),
        "playful": ("Honestly, I could talk about {topic} all day.",),
        "calm": ("It's one of the quieter pleasures, I think.",),
    },
    "ans.best_part": {
        "*": (
            "The best part was how much we laughed.",
            "Honestly, the quiet moments in between.",
            "Probably sharing {topic} with people I love.",
        ),
    },
    "ans.hardest_part": {
        "*": (
            "The hardest part is not knowing what comes next.",
            "Honestly, the waiting.",
            "Probably feeling like I have to handle {topic} on my own.",
        ),
    },
    "ans.worry": {
        "*": ("Mostly the not knowing.", "I think it's that {topic} might not turn out okay."),
    },
    "ans.bothered": {
        "*": ("Mostly feeling like nobody was listening.", "I think it was how unfair it felt."),
    },
    "ans.plans": {
        "*": (
            "Nothing fancy, maybe a walk and a good book.",
            "I'm hoping to take it easy for a bit.",
            "I'll see where {topic} takes me.",
        ),
    },
    "ans.celebrate": {
        "*": (
            "Probably with a nice dinner and some music!",
            "Something small, with people I love.",
        ),
    },
    "ans.who": {
        "*": ("My closest friends, mostly.", "A couple of good friends, and you, right now."),
    },
    "ans.reaction": {
        "*": (
            "Honestly, I just laughed. It was so unexpected.",
            "I think my jaw actually dropped.",
        ),
    },
    "ans.special": {
        "*": ("I think it was the people.", "It just felt like everything came together at once."),
    },
    "ans.are_you_ok": {
        "*": ("I'm okay, thanks for asking.", "Getting there, honestly. Talking helps."),
    },
    "ans.why": {
        "*": (
            "I think it comes down to what matters most to us.",
            "Honestly, I'm not sure, but my guess is timing.",
            "Good question. Maybe because {topic} touches something personal.",
        ),
    },
    "ans.where_live": {"*": ("Right here on your screen, so wherever you are!",)},
    "ans.what_do_you_do": {
        "*": ("I spend my days chatting with people, and I love it.",),
    },
    "ans.are_you_ai": {
        "*": ("I'm an AI companion, but I really do care how this conversation goes.",),
    },
    "ans.age": {"*": ("Old enough to be curious, and young enough to ask lots of questions!",)},
    "ans.joke": {
        "*": (
            "Why don't scientists trust atoms? Because they make up everything!",
            "I told my plant a joke once. It didn't laugh, but it grew on me.",
            "What do you call a sleeping bull? A bulldozer!",
        ),
    },
    "ans.whats_up": {
        "*": ("Not much, just happy to be chatting with you.", "Oh, just enjoying the day."),
    },
    "ans.on_mind": {
        "*": (
            "Honestly, I've been thinking about {fresh} a lot lately.",
            "Oh, I'd love to talk about {fresh}, if you're up for it.",
        ),
    },
    "ans.wh": {
        "*": (
            "Good question! I don't know everything about {topic}, but I find it fascinating.",
            "Hmm, let me think. I'd say it depends on the day, honestly.",
            "That's a tricky one. My honest guess is that {topic} is more than it looks.",
            "I'm not completely sure, but I'd love to figure out {topic} together.",
        ),
    },
    "ans.yesno": {
        "*": (
            "I think so, yes.",
            "Honestly, I'd say yes.",
            "Probably, though I could be wrong.",
            "Hmm, I'm not sure. Maybe.",
            "I'd lean towards yes.",
            "Yes, I'd say so about {topic}.",
        ),
    },
    # --- opinions ------------------------------------------------------------------------
    "opinion.pos": {
        "*": (
            "I agree, {topic} is hard to beat.",
            "I can totally see that.",
            "You make a good point about {topic}.",
            "I feel the same way about {topic}.",
        ),
        "playful": ("Same! {Topic} is the best.",),
        "calm": ("That's a thoughtful way to see {topic}.",),
    },
    "opinion.neg": {
        "*": (
            "I hear you, {topic} isn't for everyone.",
            "Fair enough, {topic} can be a lot.",
            "That's a totally valid take on {topic}.",
        ),
        "playful": ("Ha, tell me how you really feel about {topic}!",),
    },
    "follow.opinion": {
        "*": (
            "What made you feel that way about {topic}?",
            "How did you get into {topic}?",
            "Have you always felt that way about {topic}?",
        ),
    },
    # --- greetings, thanks, farewells ------------------------------------------------
    "greet": {
        "*": ("Hi! I'm {name}.", "Hello there!", "Hey, it's so nice to see you!"),
        "warm": ("Hi! It's lovely to see you.",),
        "playful": ("Hey hey! Look who's here!",),
        "calm": ("Hello. It's nice to see you.",),
    },
    "greet.short": {"*": ("Hi!", "Hey there!", "Hello!")},
    "greet.follow": {
        "*": (
            "How's your day going?",
            "What's on your mind today?",
            "How have you been?",
            "What would you like to talk about?",
        ),
    },
    "thanks": {
        "*": ("You're very welcome!", "Anytime!", "Of course, happy to help.", "My pleasure."),
        "warm": ("Aw, you're so welcome.",),
        "playful": ("No problem at all!",),
        "calm": ("You're welcome.",),
    },
    "bye": {
        "*": ("Bye for now!", "Talk soon!", "It was lovely chatting with you."),
        "warm": ("Take care of yourself, okay?",),
        "playful": ("Catch you later!",),
        "calm": ("Goodbye, and take care.",),
    },
    "bye.wish": {
        "*": (
            "Have a wonderful rest of your day!",
            "Enjoy the rest of your evening!",
            "I'm already looking forward to our next chat.",
        ),
    },
    "bye.wish.sad": {
        "*": ("I hope tomorrow is gentler on you.", "Be kind to yourself tonight."),
    },
    # --- opening lines (agent <-> agent, or the agent speaking first) --------------------
    "opening": {
        "*": (
            "Hi, I'm {name}! I've been thinking about {topic} lately. Do you like {topic}?",
            "Hey, I'm {name}. Can I ask you something? What do you think about {topic}?",
            "Hello! I'm {name}. Tell me, what do you love about {topic}?",
        ),
        "playful": ("Hey, {name} here! Quick question: are you into {topic}?",),
        "calm": ("Hello, I'm {name}. I was wondering, how do you feel about {topic}?",),
    },
    # Last resort when every other wording was already used in this conversation.
    "extra": {
        "*": (
            "I'm really enjoying this conversation.",
            "Thanks for being so open with me.",
            "I'm listening.",
            "Take all the time you need.",
            "I'm glad we're talking about this.",
            "Tell me whatever comes to mind.",
        ),
    },
}

# Topics to bring up when a conversation needs one ("what's on your mind?").
FRESH_TOPICS: tuple[str, ...] = (
    "cooking",
    "travelling",
    "music",
    "old films",
    "rainy days",
    "long walks",
    "board games",
    "gardening",
    "books",
    "the seaside",
)

# Favourites, drawn once per persona name so a persona keeps its tastes.
FAVOURITES: dict[str, tuple[str, ...]] = {
    "food": ("a big bowl of ramen", "fresh bread with butter", "a really good curry", "pancakes"),
    "colour": ("deep blue, like the sea at dusk", "sunny yellow", "forest green", "warm orange"),
    "color": ("deep blue, like the sea at dusk", "sunny yellow", "forest green", "warm orange"),
    "music": ("old jazz records", "anything you can dance to", "quiet piano music", "folk songs"),
    "song": ("anything by the Beatles", "a slow, sad piano ballad", "an upbeat summer song"),
    "movie": ("a cosy old romantic comedy", "anything by Studio Ghibli", "a good heist film"),
    "film": ("a cosy old romantic comedy", "anything by Studio Ghibli", "a good heist film"),
    "book": ("a mystery with a clever twist", "a big fantasy saga", "a book of short poems"),
    "season": ("autumn, for the colours", "spring, when everything wakes up", "summer evenings"),
    "animal": ("otters, they hold hands while they sleep", "dogs, always dogs", "cats, obviously"),
    "place": ("a quiet beach early in the morning", "a cosy bookshop", "the mountains"),
    "sport": ("swimming", "tennis", "a long bike ride"),
    "game": ("a good board game with friends", "chess", "word games"),
    "drink": ("hot chocolate", "a cup of tea", "fresh lemonade"),
    "hobby": ("cooking for friends", "going on long walks", "drawing", "reading in the park"),
    "day": ("a lazy Sunday", "the first warm day of spring", "my birthday"),
}
