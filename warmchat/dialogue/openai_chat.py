"""Dialogue through an OpenAI-compatible chat API, falling back to the offline engine.

``OpenAIChat`` sends the persona, the dialogue's cumulative mood and the recent
history to ``chat.completions`` and asks for a JSON answer
``{"reply": str, "emotion": <one of the eight>, "intensity": 0..1}``. Any
OpenAI-compatible server works (``base_url``: OpenAI, a vLLM / llama.cpp / Ollama
server, ...).

It never raises and never blocks the conversation: on any failure (no key,
connection error, timeout, HTTP error status, empty or unparseable answer) the
fallback engine (by default ``OfflineEngine``) replies instead, and the reply's
``notice`` says in one line what went wrong. The API key is never logged and
never shown; notices are written from our own words, not from server messages.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from warmchat.dialogue.base import DialogueEngine, Persona, Reply, Utterance
from warmchat.dialogue.offline import OfflineEngine
from warmchat.emotion import EMOTIONS, EmotionState

if TYPE_CHECKING:
    from collections.abc import Mapping

    import openai  # imported when first used (0.5 s): the app serves its page without it

    from warmchat.dialogue.offline import TextClassifier

log = logging.getLogger(__name__)

#: Intensity used when the model's answer gives none (or an unusable one).
DEFAULT_INTENSITY = 0.6


# Hugging Face's OpenAI-compatible router and the model asked of it unless WARMCHAT_LLM_MODEL names
# another (an instruct model its providers serve; "model:provider" picks a provider).
HF_ROUTER = "https://router.huggingface.co/v1"
HF_MODEL = "meta-llama/Llama-3.1-8B-Instruct"


@dataclass
class LLMConfig:
    """Where and how to reach the chat model. ``from_env`` reads the usual variables."""

    # Chat model name; the environment variable WARMCHAT_LLM_MODEL overrides it.
    model: str = "gpt-4o"
    # OpenAI-compatible endpoint, e.g. "http://127.0.0.1:8000/v1" (env OPENAI_BASE_URL);
    # None means the openai client's default (api.openai.com).
    base_url: str | None = None
    # Secret key (env OPENAI_API_KEY). Never logged, shown or put in a notice; left out of
    # repr(). A local server that checks no key still needs one set: any dummy ("local").
    api_key: str | None = field(default=None, repr=False)
    # Seconds to wait for one request before giving up and falling back.
    timeout_s: float = 20.0
    # Retries the openai client makes on connection errors, 408, 409, 429 and 5xx.
    max_retries: int = 1
    # Sampling temperature: higher gives more varied replies.
    temperature: float = 0.8
    # How many of the most recent utterances are sent (older ones are left out).
    max_history: int = 12
    # Who serves the model, for the status line ("Hugging Face" for the router); None: the host says it.
    provider: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LLMConfig:
        """Defaults overridden by WARMCHAT_LLM_MODEL, OPENAI_BASE_URL and OPENAI_API_KEY; without
        an OpenAI key, Hugging Face's router with HF_TOKEN where that is meant: on a Space
        (SYSTEM=spaces, as Spaces set it: the token is a Space secret) or with
        WARMCHAT_LLM_PROVIDER=huggingface.
        (A token set on a laptop for downloads alone must not send the chat over the network.)"""
        env = os.environ if environ is None else environ
        model = (env.get("WARMCHAT_LLM_MODEL") or "").strip() or None
        key = (env.get("OPENAI_API_KEY") or "").strip() or None
        hf = (env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or "").strip()
        wants_hf = (
            env.get("SYSTEM") == "spaces"
            or (env.get("WARMCHAT_LLM_PROVIDER") or "").strip().lower() == "huggingface"
        )
        if key is None and hf and wants_hf:
            return cls.huggingface(hf, model, (env.get("WARMCHAT_HF_BASE_URL") or "").strip() or None)
        return cls(
            model=model or cls.model, base_url=(env.get("OPENAI_BASE_URL") or "").strip() or None, api_key=key
        )

    @classmethod
    def huggingface(cls, token: str, model: str | None = None, base_url: str | None = None) -> LLMConfig:
        """Hugging Face's OpenAI-compatible inference router, with a Space secret or a visitor's
        own token from "Sign in with Hugging Face"; ``base_url`` only for tests."""
        return cls(
            model=model or HF_MODEL, base_url=base_url or HF_ROUTER, api_key=token, provider="Hugging Face"
        )

    @property
    def enabled(self) -> bool:
        """True when an API key is set (a keyless local server needs a dummy key)."""
        return bool(self.api_key and self.api_key.strip())


def system_prompt(
    persona: Persona, mood: EmotionState | None, last: EmotionState | None, want: EmotionState | None = None
) -> str:
    """The system message: who to be, how to speak, the emotional context, the JSON format."""
    lines = [
        f"You are {persona.name}, {persona.description}.",
        "You talk face to face through an animated talking head, so your words are spoken "
        "aloud: answer briefly, in 1 to 3 short sentences, in a natural spoken style, "
        "with no lists, no markdown and no emojis.",
    ]
    if mood is not None:
        lines.append(
            f"The mood of the conversation so far is {mood.dominant} "
            f"(intensity {mood.intensity:.2f} on a 0 to 1 scale); let it colour your tone "
            "and respond to it with care."
        )
    if last is not None:
        lines.append(f"The last message sounded {last.dominant} (intensity {last.intensity:.2f}).")
    if want is not None:
        lines.append(
            f"Your face will show {want.dominant} (intensity {want.intensity:.2f}) while you speak: "
            f"write the reply so that its words sound {want.dominant} too."
        )
    lines.append(
        "Reply with a JSON object only, no other text: "
        '{"reply": "<what you say>", "emotion": "<one of '
        + ", ".join(EMOTIONS)
        + '>", "intensity": <a number from 0 to 1>}, where emotion and intensity are '
        "what your face should show while you say the reply."
    )
    return " ".join(lines)


def build_messages(
    history: list[Utterance],
    persona: Persona,
    mood: EmotionState | None,
    max_history: int,
    want: EmotionState | None = None,
) -> list[dict[str, str]]:
    """System prompt plus the last ``max_history`` utterances as user/assistant messages."""
    recent = [u for u in history if u.text.strip()][-max(1, max_history) :]
    last = recent[-1].emotion if recent and recent[-1].role == "user" else None
    messages = [{"role": "system", "content": system_prompt(persona, mood, last, want)}]
    for u in recent:
        role = "assistant" if u.role == "agent" else "user"
        messages.append({"role": role, "content": u.text.strip()})
    if len(messages) == 1:
        messages.append(
            {
                "role": "user",
                "content": "(The conversation starts now: greet me and ask me something.)",
            }
        )
    return messages


_FENCE_RE = re.compile(r"```[A-Za-z0-9_-]*\s*(.*?)```", re.DOTALL)


def _first_json_object(content: str) -> dict[str, Any]:
    """The first JSON object in ``content``: bare, inside ``` fences, or amid other text."""
    text = content.strip()
    fenced = _FENCE_RE.search(text)
    candidates = [fenced.group(1).strip()] if fenced else []
    candidates.append(text)
    decoder = json.JSONDecoder()
    for cand in candidates:
        try:
            obj = json.loads(cand)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            return obj
        # Models sometimes wrap the object in prose: try every "{" in turn.
        for m in re.finditer(r"\{", cand):
            try:
                obj, _ = decoder.raw_decode(cand, m.start())
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                return obj
    raise ValueError("the answer contains no JSON object")


def parse_answer(content: str | None) -> tuple[str, EmotionState | str | None, float | None]:
    """Reply text, emotion (a name, a distribution, or None if unusable) and intensity.

    Raises ValueError when there is no JSON object or no non-empty "reply" string.
    """
    if not content or not content.strip():
        raise ValueError("the answer was empty")
    obj = _first_json_object(content)
    text = obj.get("reply")
    if not isinstance(text, str) or not text.strip():
        raise ValueError('the answer has no "reply" text')
    emotion: EmotionState | str | None = None
    raw = obj.get("emotion")
    if isinstance(raw, str) and raw.strip().lower() in EMOTIONS:
        emotion = raw.strip().lower()
    elif isinstance(raw, dict):
        # A distribution over names is fine too, as long as it names some of ours.
        vec = np.array([_number(raw.get(name)) or 0.0 for name in EMOTIONS])
        if vec.sum() > 0:
            emotion = EmotionState(vec, DEFAULT_INTENSITY)
    intensity = _number(obj.get("intensity"))
    if intensity is not None:
        intensity = min(1.0, max(0.0, intensity))
    return text.strip(), emotion, intensity


def _number(x: object) -> float | None:
    """A finite number from a JSON value ("0.7" and "70%" too), else None."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        v = float(x)
    elif isinstance(x, str):
        try:
            v = float(x.strip().rstrip("%")) / (100.0 if x.strip().endswith("%") else 1.0)
        except ValueError:
            return None
    else:
        return None
    return v if np.isfinite(v) else None


class OpenAIChat:
    """Replies from an OpenAI-compatible chat model; the fallback engine covers failures.

    ``classifier`` labels a reply whose emotion the model left out or misnamed; by
    default the fallback engine's classifier (or the package's text classifier).
    """

    name = "openai"

    def __init__(
        self,
        config: LLMConfig | None = None,
        fallback: DialogueEngine | None = None,
        classifier: TextClassifier | None = None,
    ) -> None:
        self.config = config or LLMConfig.from_env()
        self.fallback: DialogueEngine = fallback or OfflineEngine(classifier)
        self._classifier = classifier
        self._client: openai.OpenAI | None = None

    def describe(self) -> str:
        """The back end in words (``WarmChatPipeline.status``)."""
        where = f"{self.config.provider} ({self.host})" if self.config.provider else self.host
        return f"OpenAI-compatible chat, model {self.config.model!r} at {where}; offline engine when it fails"

    def _get_client(self) -> openai.OpenAI:
        """The openai client, made on first use (it opens no connection until asked)."""
        if self._client is None:
            import openai

            cfg = self.config
            self._client = openai.OpenAI(
                api_key=cfg.api_key,
                base_url=cfg.base_url,
                timeout=cfg.timeout_s,
                max_retries=max(0, int(cfg.max_retries)),
            )
        return self._client

    def _classify(self, text: str) -> EmotionState:
        """Emotion of a reply the model did not label usably."""
        if self._classifier is None:
            classify = getattr(self.fallback, "classify", None)
            if callable(classify):
                return classify(text)
            from warmchat.emotion import TextEmotionClassifier

            self._classifier = TextEmotionClassifier()
        return self._classifier.classify(text)

    def reply(
        self,
        history: list[Utterance],
        persona: Persona,
        mood: EmotionState | None = None,
        seed: int | None = None,
        emotion: EmotionState | None = None,
    ) -> Reply:
        """Ask the model (to write in ``emotion``, when the visitor chose one); on any failure
        return the fallback's reply with a notice."""
        cfg = self.config

        def fall_back(reason: str, exc: BaseException | None, verb: str = "did not answer") -> Reply:
            return self._fall_back(history, persona, mood, seed, emotion, reason, exc, verb)

        if not cfg.enabled:
            return fall_back("no API key is set (OPENAI_API_KEY)", None)
        import openai  # its exceptions, below

        messages = build_messages(history, persona, mood, cfg.max_history, emotion)
        try:
            content = self._complete(messages, seed)
            text, label, intensity = parse_answer(content)
        except openai.APITimeoutError as exc:
            return fall_back(f"timeout after {cfg.timeout_s:g} s", exc)
        except openai.APIConnectionError as exc:
            return fall_back(f"could not connect to {self.host}", exc)
        except openai.APIStatusError as exc:
            return fall_back(_status_reason(exc, cfg), exc)
        except openai.OpenAIError as exc:
            # Any other client-side failure (e.g. a response that fails validation).
            return fall_back(f"unexpected response from {self.host}", exc)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            # json.JSONDecodeError is a ValueError; the rest cover odd response shapes.
            reason = str(exc) if isinstance(exc, ValueError) else "unexpected response format"
            return fall_back(reason, exc, "gave an unusable answer")

        if emotion is not None:
            state = emotion  # the visitor's choice: the model was asked to write in it
        elif isinstance(label, EmotionState):
            state = EmotionState(label.dist, DEFAULT_INTENSITY if intensity is None else intensity)
        elif isinstance(label, str):
            state = EmotionState.of(label, DEFAULT_INTENSITY if intensity is None else intensity)
        else:
            read = self._classify(text)
            state = EmotionState(read.dist, DEFAULT_INTENSITY if intensity is None else intensity)
        return Reply(text, state, "openai")

    def opening(self, persona: Persona, topic: str | None = None, seed: int | None = None) -> Reply:
        """The model's opening line (bringing up ``topic`` when given); on any failure the
        fallback's opener about the same topic, with the notice."""
        starter = (
            [Utterance("user", f"(The conversation starts now: greet me and bring up {topic}.)")]
            if topic
            else []
        )
        r = self.reply(starter, persona, None, seed)
        if r.backend == "openai":
            return r
        opener = self.fallback.opening(persona, topic, seed)
        return Reply(opener.text, opener.emotion, opener.backend, r.notice)

    def _complete(self, messages: list[dict[str, str]], seed: int | None) -> str | None:
        """One chat completion; retried once without JSON mode if the server rejects it."""
        cfg = self.config
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "temperature": cfg.temperature,
        }
        if seed is not None:
            kwargs["seed"] = int(seed)
        import openai

        client = self._get_client()
        try:
            completion = client.chat.completions.create(response_format={"type": "json_object"}, **kwargs)
        except openai.BadRequestError:
            # Some OpenAI-compatible servers do not know response_format; the prompt
            # still asks for JSON and the parser is tolerant.
            completion = client.chat.completions.create(**kwargs)
        choices = getattr(completion, "choices", None)
        if not choices:
            raise ValueError("the answer had no choices")
        return choices[0].message.content

    @property
    def host(self) -> str:
        """The API's host[:port], for messages (never the key)."""
        url = self.config.base_url or "https://api.openai.com/v1"
        return urlsplit(url).netloc or url

    def _fall_back(
        self,
        history: list[Utterance],
        persona: Persona,
        mood: EmotionState | None,
        seed: int | None,
        want: EmotionState | None,
        reason: str,
        exc: BaseException | None,
        verb: str = "did not answer",
    ) -> Reply:
        reason = self._redact(reason)
        if exc is not None:
            detail = self._redact(f"{type(exc).__name__}: {exc}")[:300]
            log.warning("LLM reply failed (%s); the offline engine replies. %s", reason, detail)
        else:
            log.warning("LLM reply skipped (%s); the offline engine replies.", reason)
        reply = self.fallback.reply(history, persona, mood, seed, emotion=want)
        verb = "was not asked" if exc is None else verb
        reply.notice = f"The LLM {verb} ({reason}); the offline engine replied instead."
        return reply

    def _redact(self, text: str) -> str:
        """``text`` with the API key (should a server echo it) replaced by ***."""
        key = self.config.api_key
        if key and key.strip():
            text = text.replace(key, "***").replace(key.strip(), "***")
        return text


def _status_reason(exc: openai.APIStatusError, cfg: LLMConfig) -> str:
    """A short reason for an HTTP error status, in our own words."""
    status = getattr(exc, "status_code", None)
    if status == 401:
        return "the API key was rejected (HTTP 401)"
    if status == 403:
        return "access denied (HTTP 403)"
    if status == 404:
        return f"model {cfg.model!r} or endpoint not found (HTTP 404)"
    if status == 429:
        return "rate limit or quota exceeded (HTTP 429)"
    if isinstance(status, int) and status >= 500:
        return f"server error (HTTP {status})"
    return f"HTTP error {status}"
