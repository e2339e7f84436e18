"""The agent's reply in a turn (steps 3 and 5), and the other persona's next line in agent <-> agent talk.

The reply is written on a thread of its own while the user's utterance renders:
an LLM may take seconds, and the user's avatar need not wait for it. Its node
joins the tree on the rendering thread (between frames), so the tree is only
ever changed from one thread.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from warmchat.conversation import Conversation
from warmchat.dialogue.base import DialogueEngine, Persona, Reply, Utterance, swap_roles
from warmchat.emotion import EmotionState
from warmchat.hooks import Hooks
from warmchat.speech import TTS, Speech
from warmchat.tree import ITT, Node, TraversalConfig


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


class PendingReply:
    """One turn's reply: started at once, added to the tree by ``poll`` as soon as it is written."""

    def __init__(self, dialogue: DialogueEngine, tts: TTS, conv: Conversation, user_node: Node,
                 traversal: TraversalConfig, agent_emotion: EmotionState | None, hooks: Hooks,
                 times: dict[str, float], notices: list[str], t0: float) -> None:  # fmt: skip
        self.conv, self.user_node, self.hooks = conv, user_node, hooks
        self.times, self.notices, self.t0 = times, notices, t0
        self.made: tuple[Node, Speech] | None = None  # the agent's node and speech, once in the tree
        # 3. The reply, coloured by the mood of the path so far, then its speech. The dialogue
        #    engine never raises: a failing LLM falls back with a notice.
        seed = _seed(conv.seed, conv.turn)
        inputs = reply_inputs(conv.tree, user_node, traversal)

        def write():
            t = time.perf_counter()
            reply = agent_reply(dialogue, inputs, conv.agent.persona, seed, agent_emotion)
            emotion = agent_emotion or reply.emotion
            times["dialogue"] = time.perf_counter() - t
            t = time.perf_counter()
            speech = tts.synthesize(reply.text, emotion, voice=conv.agent.voice)
            times["tts_agent"] = time.perf_counter() - t
            return reply, emotion, speech

        # A thread of its own per turn (not a shared pool): one slow LLM never delays another turn.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warmchat-reply")
        self.writing = pool.submit(write)
        pool.shutdown(wait=False)  # the thread ends with its one job

    def poll(self) -> None:
        """5. If the reply is written, add the agent's node (call between frames, on the rendering thread)."""
        if self.made is not None or not self.writing.done():
            return
        reply, emotion, speech = self.writing.result()
        if reply.notice:
            self.notices.append(reply.notice)
        node = self.conv.tree.add_child(
            self.user_node.id, "agent", self.conv.agent.name, reply.text, emotion, backend=reply.backend
        )
        self.made = (node, speech)
        self.times["reply_ready"] = time.perf_counter() - self.t0
        self.hooks.reply(node)

    def wait(self) -> tuple[Node, Speech]:
        """The agent's node and speech, waiting for the reply if it is not written yet."""
        if self.made is None:
            self.hooks.progress(0.5, "Writing the reply")
            wait([self.writing])
            self.poll()
        return self.made


def reply_inputs(
    tree: ITT, user_node: Node, traversal: TraversalConfig
) -> tuple[list[Utterance], EmotionState, set[str]]:
    """What the agent's reply to ``user_node`` is written from, read now (the tree is only read on the
    rendering thread): the path so far, its mood for the agent, and the replies this message already has."""
    history = [
        Utterance(n.role, n.text, n.emotion) for n in tree.path_from_root(user_node.id) if n.role != "root"
    ]
    mood = tree.cumulative_emotion(user_node.id, traversal, for_role="agent")
    before = {tree.node(c).text for c in user_node.children if tree.node(c).role == "agent"}
    return history, mood, before


def agent_reply(dialogue: DialogueEngine, inputs: tuple[list[Utterance], EmotionState, set[str]],
                persona: Persona, seed: int, agent_emotion: EmotionState | None = None) -> Reply:  # fmt: skip
    """3. The agent's reply, coloured by the mood of the path so far (never raises: a failing LLM
    falls back with a notice). A regenerated reply is new: one this message already has is not said again."""
    history, mood, before = inputs
    for k in range(6):
        reply = dialogue.reply(history, persona, mood, seed=seed + k, emotion=agent_emotion)
        if reply.text not in before:
            break
    return reply


def next_user_line(dialogue: DialogueEngine, conv: Conversation,
                   traversal: TraversalConfig) -> tuple[str, EmotionState, str | None]:  # fmt: skip
    """The user side's next line in agent <-> agent mode, from the second persona: (text, emotion, notice)."""
    r = partner_line(dialogue, conv.tree, conv.user.persona, traversal, conv.seed, conv.turn)
    return r.text, r.emotion, r.notice


def partner_line(dialogue: DialogueEngine, tree: ITT, persona: Persona, traversal: TraversalConfig,
                 seed: int, turn: int) -> Reply:  # fmt: skip
    """The second persona's next line after ``tree.current`` (it opens when nothing is said yet)."""
    path = [n for n in tree.path_from_root(tree.current) if n.role != "root"]
    if not path:  # nothing said yet: the second persona opens with a topic of its own
        return dialogue.opening(persona, None, _seed(seed, turn, 2))
    history = swap_roles([Utterance(n.role, n.text, n.emotion) for n in path])
    mood = tree.cumulative_emotion(tree.current, traversal, for_role="user")
    return dialogue.reply(history, persona, mood, seed=_seed(seed, turn, 1))
