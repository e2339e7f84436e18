"""Dialogue engines with real components: the offline engine with the real text-emotion
classifier, and the OpenAI client against a small OpenAI-compatible server that the
tests start on 127.0.0.1 (no network beyond the loopback)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from warmchat.dialogue import (
    PARTNER_PERSONA,
    DialogueEngine,
    LLMConfig,
    OfflineEngine,
    OpenAIChat,
    Persona,
    Reply,
    Utterance,
    make_engine,
    opening_line,
    swap_roles,
)
from warmchat.dialogue.analysis import analyse, find_topic, first_person_clause, reflect
from warmchat.dialogue.openai_chat import HF_MODEL, HF_ROUTER
from warmchat.dialogue.templates import FAVOURITES
from warmchat.emotion import EmotionState, TextEmotionClassifier

API_KEY = "sk-test-SECRET-0123456789"
SEEDS = range(4)


@pytest.fixture(scope="module")
def classifier():
    return TextEmotionClassifier()


@pytest.fixture(scope="module")
def engine(classifier) -> OfflineEngine:
    return OfflineEngine(classifier)


def ask(engine: OfflineEngine, text: str, seed: int = 0, persona: Persona | None = None) -> Reply:
    return engine.reply([Utterance("user", text)], persona or Persona(), seed=seed)


def first_sentence(text: str) -> str:
    for i, ch in enumerate(text):
        if ch in ".!?" and (i + 1 == len(text) or text[i + 1] == " "):
            return text[: i + 1]
    return text


# --- text analysis --------------------------------------------------------------------------


def test_topic_and_reflection():
    topic = find_topic("My dog Max is sick and I'm really worried about him.")
    assert topic is not None and topic.text(reflect=True) == "your dog Max"
    assert find_topic("I love cooking").text(reflect=True) == "cooking"
    assert find_topic("I'm so excited about my trip to Japan").text(True) == "your trip to Japan"
    assert reflect("I was at my mum's") == "you were at your mum's"
    assert first_person_clause("I lost my job today.") == "you lost your job today"
    assert first_person_clause("I don't know.") is None


@pytest.mark.parametrize(
    ("text", "intent", "frame"),
    [
        ("Hi!", "greeting", None),
        ("Hello, how are you?", "wh", "how_are_you"),
        ("Do you like music?", "yesno", "do_you_like"),
        ("What's your favourite food?", "wh", "favourite"),
        ("Why is the sky blue?", "wh", "why"),
        ("Thanks so much!", "thanks", None),
        ("Bye, talk soon", "farewell", None),
        ("I hate mornings", "opinion", None),
        ("I went to the park with my sister", "statement", None),
    ],
)
def test_intent(text: str, intent: str, frame: str | None):
    a = analyse(text)
    assert (a.intent, a.frame) == (intent, frame)


# --- offline engine ----------------------------------------------------------------------------


def test_offline_engine_is_a_dialogue_engine(engine):
    assert isinstance(engine, DialogueEngine)
    assert engine.name == "offline"


def test_reply_stays_on_topic(engine):
    for seed in SEEDS:
        r = ask(engine, "My dog Max is sick and I'm really worried about him.", seed)
        assert r.backend == "offline" and r.notice is None
        assert "dog" in r.text or "Max" in r.text, r.text
        # Turned around to the listener's view: the agent does not say "my dog".
        assert "my dog" not in r.text.lower(), r.text


def test_questions_get_answers(engine):
    for seed in SEEDS:
        r = ask(engine, "Do you like music?", seed)
        head = first_sentence(r.text)
        words = r.text.lower().replace(".", " ").replace("!", " ").split()
        # An answer first (the topic may be "it" once the question has named it).
        assert not head.endswith("?") and ("music" in words or "it" in words), r.text

        r = ask(engine, "What's your favourite food?", seed)
        assert any(food in r.text for food in FAVOURITES["food"]), r.text

        r = ask(engine, "How are you?", seed)
        assert not first_sentence(r.text).endswith("?"), r.text

        r = ask(engine, "What's your name?", seed)
        assert "Ava" in r.text, r.text


def test_favourite_is_stable_per_persona(engine):
    foods = {
        next(f for f in FAVOURITES["food"] if f in ask(engine, "What's your favourite food?", s).text)
        for s in SEEDS
    }
    assert len(foods) == 1


EMPATHY = (
    "sorry", "hard", "hurt", "heart", "rough", "stinks", "heavy", "difficult", "painful",
    "a lot", "hear you", "with you", "alone", "holding up", "easier", "oh no", "slowly",
    "waves", "figured out", "courage",
)  # fmt: skip
JOY = (
    "wonderful", "love", "good news", "lovely", "fantastic", "glad", "happy", "brilliant",
    "nice", "celebrate", "thrilled", "deserve", "best", "woohoo", "highlight", "good to hear",
    "special",
)  # fmt: skip


def test_sad_message_gets_empathy(engine):
    for seed in SEEDS:
        r = ask(engine, "I lost my job today and I feel terrible.", seed)
        assert r.emotion.dominant == "sad", (r.text, str(r.emotion))
        assert 0.2 <= r.emotion.intensity <= 0.8
        assert any(w in r.text.lower() for w in EMPATHY), r.text


def test_happy_message_shares_joy(engine):
    for seed in SEEDS:
        r = ask(engine, "I got the job! I'm so excited!", seed)
        assert r.emotion.dominant == "happy", (r.text, str(r.emotion))
        assert any(w in r.text.lower() for w in JOY), r.text


def test_anger_is_met_calmly(engine):
    for seed in SEEDS:
        r = ask(engine, "My boss yelled at me in front of everyone, it's so unfair!", seed)
        assert r.emotion.dominant in ("neutral", "sad"), (r.text, str(r.emotion))


def test_deterministic_for_a_seed(engine):
    a = ask(engine, "I went hiking with my sister last weekend.", 7)
    b = ask(engine, "I went hiking with my sister last weekend.", 7)
    assert a.text == b.text
    assert a.emotion.to_dict() == b.emotion.to_dict()


def test_seeds_vary_the_reply(engine):
    texts = {ask(engine, "I went hiking with my sister last weekend.", s).text for s in range(8)}
    assert len(texts) >= 4


def test_styles_vary_the_wording(engine):
    warm = {ask(engine, "I got the job!", s, Persona(style="warm")).text for s in SEEDS}
    calm = {ask(engine, "I got the job!", s, Persona(style="calm")).text for s in SEEDS}
    assert warm != calm


def test_no_repeats_in_a_conversation(engine):
    messages = [
        "Hi!",
        "My dog Max is sick and I'm really worried about him.",
        "The vet says it might be his heart.",
        "Thanks, that helps.",
        "Do you like dogs?",
        "What's your favourite food?",
        "I got the job I applied for last month!",
        "My boss yelled at me in front of everyone.",
        "I love cooking.",
        "Bye, talk soon.",
    ]
    history: list[Utterance] = []
    for turn, message in enumerate(messages):
        history.append(Utterance("user", message))
        r = engine.reply(history, Persona(), seed=turn)
        history.append(Utterance("agent", r.text, r.emotion))
    replies = [u.text for u in history if u.role == "agent"]
    assert len(set(replies)) == len(replies) == 10
    assert all(t.strip() for t in replies)
    # The same message over and over still gets a new reply every time.
    history = []
    for _ in range(10):
        history.append(Utterance("user", "Tell me more."))
        history.append(Utterance("agent", engine.reply(history, Persona(), seed=1).text))
    replies = [u.text for u in history if u.role == "agent"]
    assert len(set(replies)) == 10


def test_farewell_and_thanks(engine):
    for seed in SEEDS:
        bye = ask(engine, "Bye, talk soon!", seed).text.lower()
        assert any(w in bye for w in ("bye", "talk soon", "later", "take care", "chatting")), bye
        thanks = ask(engine, "Thank you so much!", seed).text.lower()
        assert any(w in thanks for w in ("welcome", "anytime", "pleasure", "problem", "happy to help")), (
            thanks
        )


def test_remarks_about_the_agent(engine):
    kind = ask(engine, "You're so sweet!")
    assert kind.emotion.dominant == "happy"
    rude = ask(engine, "You are stupid.")
    assert rude.emotion.dominant in ("sad", "neutral")
    assert "sorry" in rude.text.lower() or "better" in rude.text.lower(), rude.text


def test_no_topic_no_placeholder(engine):
    for text in ("ok", "Yes", "hmm", "What about you?", "42"):
        r = ask(engine, text)
        assert r.text.strip() and "{" not in r.text and "about that that" not in r.text


def test_mood_colours_the_emotion(engine):
    history = [Utterance("user", "How are you?")]
    plain = engine.reply(history, Persona(), seed=3)
    low = engine.reply(history, Persona(), mood=EmotionState.of("sad", 0.8), seed=3)
    assert low.emotion.dist[2] > plain.emotion.dist[2]  # index 2 = sad


def test_opening_line():
    r = opening_line(Persona(), "cooking", seed=2)
    assert "cooking" in r.text and r.text.endswith("?")
    assert r.emotion.dominant == "happy"
    assert opening_line(Persona(), None, seed=2).text == opening_line(Persona(), None, 2).text


def test_empty_history_opens(engine):
    r = engine.reply([], Persona(name="Mia"), seed=1)
    assert "Mia" in r.text and r.text.endswith("?")


def _converse(engine, first: Persona, second: Persona, turns: int, topic: str, seed: int):
    """Two personas on one engine, as the app's agent <-> agent mode runs them: ``first`` opens
    about ``topic``, then each sees the talk from its own side (its lines as "agent")."""
    said = [(first, opening_line(first, topic, seed))]
    for turn in range(turns):
        speaker = second if turn % 2 == 0 else first
        history = [Utterance("agent" if who is speaker else "user", r.text) for who, r in said]
        said.append((speaker, engine.reply(history, speaker, None, seed)))
    return said


def test_agent_to_agent(engine):
    a = Persona()
    b = PARTNER_PERSONA
    talk = _converse(engine, a, b, turns=6, topic="cooking", seed=5)
    assert [p.name for p, _ in talk] == ["Ava", "Leo", "Ava", "Leo", "Ava", "Leo", "Ava"]
    replies = [r.text for _, r in talk[1:]]
    assert len(replies) == 6
    assert all(t.strip() for t in replies)
    assert len(set(replies)) == 6
    # The conversation stays on its topic.
    assert sum("cooking" in t.lower() for t in replies) >= 3
    # swap_roles gives the other side's view.
    h = [Utterance("user", "x"), Utterance("agent", "y")]
    assert [u.role for u in swap_roles(h)] == ["agent", "user"]


# --- OpenAI-compatible client ----------------------------------------------------------------


@dataclass
class FakeLLM:
    """Behaviour of the test server's /v1/chat/completions and what it received."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    # body -> (HTTP status, response body (dict -> JSON, str -> as is), delay in s)
    handler: Callable[[dict[str, Any]], tuple[int, Any, float]] | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def answer(self, content: str | None, status: int = 200, delay: float = 0.0) -> None:
        def handle(body: dict[str, Any]) -> tuple[int, Any, float]:
            return status, completion(body.get("model", "?"), content), delay

        self.handler = handle


def completion(model: str, content: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_POST(self) -> None:
        fake: FakeLLM = self.server.fake
        size = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(size) or b"{}")
        auth = self.headers.get("Authorization")
        fake.requests.append({"path": self.path, "authorization": auth, "body": body})
        if self.path != "/v1/chat/completions" or fake.handler is None:
            status, payload, delay = 404, {"error": {"message": "not found"}}, 0.0
        else:
            status, payload, delay = fake.handler(body)
        if delay:
            fake.stop.wait(delay)  # released at teardown, so no thread outlives the test
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_llm(monkeypatch) -> Iterator[FakeLLM]:
    # A proxy from the environment must not intercept loopback requests.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    fake = FakeLLM(url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    server.fake = fake  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def chat(fake: FakeLLM, engine: OfflineEngine, **overrides: Any) -> OpenAIChat:
    cfg = LLMConfig(model="test-model-x", base_url=fake.url, api_key=API_KEY, max_retries=0)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return OpenAIChat(cfg, fallback=engine)


HISTORY = [
    Utterance("user", "I lost my job today."),
    Utterance("agent", "Oh no, I'm so sorry. What happened?", EmotionState.of("sad", 0.5)),
    Utterance("user", "They closed the whole office.", EmotionState.of("sad", 0.7)),
]


def test_openai_request_and_reply(fake_llm, engine):
    fake_llm.answer(json.dumps({"reply": "That's so hard. I'm here.", "emotion": "sad",
                                "intensity": 0.4}))  # fmt: skip
    mood = EmotionState.of("sad", 0.7)
    r = chat(fake_llm, engine).reply(HISTORY, Persona(name="Ava"), mood=mood, seed=3)
    assert r == Reply("That's so hard. I'm here.", r.emotion, "openai", None)
    assert r.emotion.dominant == "sad" and r.emotion.intensity == pytest.approx(0.4)

    (req,) = fake_llm.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["authorization"] == f"Bearer {API_KEY}"
    body = req["body"]
    assert body["model"] == "test-model-x"
    assert body["response_format"] == {"type": "json_object"}
    assert body["temperature"] == pytest.approx(0.8)
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert [m["content"] for m in body["messages"][1:]] == [u.text for u in HISTORY]
    system = body["messages"][0]["content"]
    assert "Ava" in system and "JSON" in system
    assert "mood of the conversation so far is sad" in system and "0.70" in system
    assert "1 to 3 short sentences" in system


def test_openai_history_is_capped(fake_llm, engine):
    fake_llm.answer('{"reply": "Sure.", "emotion": "neutral", "intensity": 0.2}')
    long = [Utterance("user" if i % 2 == 0 else "agent", f"line {i}") for i in range(21)]
    chat(fake_llm, engine, max_history=4).reply(long, Persona())
    sent = [m["content"] for m in fake_llm.requests[0]["body"]["messages"][1:]]
    assert sent == ["line 17", "line 18", "line 19", "line 20"]


@pytest.mark.parametrize(
    "content",
    [
        '```json\n{"reply": "Hello there!", "emotion": "happy", "intensity": 0.9}\n```',
        'Sure! Here it is: {"reply": "Hello there!", "emotion": "Happy", "intensity": "0.9"} :)',
    ],
)
def test_openai_tolerant_parsing(fake_llm, engine, content):
    fake_llm.answer(content)
    r = chat(fake_llm, engine).reply(HISTORY, Persona())
    assert (r.text, r.backend, r.notice) == ("Hello there!", "openai", None)
    assert r.emotion.dominant == "happy" and r.emotion.intensity == pytest.approx(0.9)


def test_openai_unknown_emotion_is_classified(fake_llm, engine):
    fake_llm.answer('{"reply": "I am so happy for you, this is wonderful!", "emotion": "glee"}')
    r = chat(fake_llm, engine).reply(HISTORY, Persona())
    assert r.backend == "openai"
    assert r.emotion.dominant == "happy"
    assert r.emotion.intensity == pytest.approx(0.6)


def assert_fell_back(r: Reply, *words: str) -> None:
    assert r.backend == "offline"
    assert r.text.strip()
    assert r.notice and "offline engine replied instead" in r.notice
    assert "\n" not in r.notice
    assert API_KEY not in r.notice
    for w in words:
        assert w in r.notice, r.notice


def test_openai_http_error_falls_back(fake_llm, engine, caplog):
    fake_llm.answer(None, status=500)
    with caplog.at_level(logging.WARNING):
        r = chat(fake_llm, engine).reply(HISTORY, Persona(), seed=1)
    assert_fell_back(r, "HTTP 500")
    assert any("LLM reply failed" in rec.getMessage() for rec in caplog.records)
    # Same seed, same fallback reply as asking the offline engine directly.
    assert r.text == engine.reply(HISTORY, Persona(), seed=1).text


def test_openai_retries_then_falls_back(fake_llm, engine):
    fake_llm.answer(None, status=503)
    r = chat(fake_llm, engine, max_retries=1).reply(HISTORY, Persona())
    assert_fell_back(r, "HTTP 503")
    assert len(fake_llm.requests) == 2


def test_openai_key_is_never_shown(fake_llm, engine, caplog):
    def handle(body: dict[str, Any]) -> tuple[int, Any, float]:
        msg = f"Incorrect API key provided: {API_KEY}"
        return 401, {"error": {"message": msg, "type": "invalid_request_error"}}, 0.0

    fake_llm.handler = handle
    with caplog.at_level(logging.DEBUG):
        r = chat(fake_llm, engine).reply(HISTORY, Persona())
    assert_fell_back(r, "401")
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(LLMConfig(api_key=API_KEY))


def test_openai_timeout_falls_back(fake_llm, engine):
    fake_llm.answer('{"reply": "too late"}', delay=5.0)
    t0 = time.perf_counter()
    r = chat(fake_llm, engine, timeout_s=0.5).reply(HISTORY, Persona())
    assert time.perf_counter() - t0 < 3.0
    assert_fell_back(r, "timeout after 0.5 s")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("I'm sorry to hear that, friend.", "no JSON object"),
        ('{"text": "Hi!", "emotion": "happy"}', '"reply"'),
        ('{"reply": "", "emotion": "happy"}', '"reply"'),
        ("", "empty"),
        (None, "empty"),
    ],
)
def test_openai_malformed_answer_falls_back(fake_llm, engine, content, why):
    fake_llm.answer(content)
    r = chat(fake_llm, engine).reply(HISTORY, Persona())
    assert_fell_back(r, "unusable answer", why)


def test_openai_server_without_json_mode(fake_llm, engine):
    def handle(body: dict[str, Any]) -> tuple[int, Any, float]:
        if "response_format" in body:
            return 400, {"error": {"message": "response_format is not supported"}}, 0.0
        return 200, completion(body["model"], '{"reply": "Hi!", "emotion": "happy"}'), 0.0

    fake_llm.handler = handle
    r = chat(fake_llm, engine).reply(HISTORY, Persona())
    assert (r.text, r.backend) == ("Hi!", "openai")
    assert len(fake_llm.requests) == 2


def test_openai_unreachable_falls_back(engine):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = LLMConfig(base_url=f"http://127.0.0.1:{port}/v1", api_key=API_KEY, max_retries=0,
                    timeout_s=2.0)  # fmt: skip
    r = OpenAIChat(cfg, fallback=engine).reply(HISTORY, Persona())
    assert_fell_back(r, f"could not connect to 127.0.0.1:{port}")


def test_no_key_means_offline(engine):
    r = OpenAIChat(LLMConfig(api_key=None), fallback=engine).reply(HISTORY, Persona())
    assert_fell_back(r, "no API key")
    assert isinstance(make_engine(LLMConfig(api_key=None)), OfflineEngine)
    assert isinstance(make_engine(LLMConfig(api_key="local")), OpenAIChat)


def test_config_from_env():
    cfg = LLMConfig.from_env(
        {"WARMCHAT_LLM_MODEL": "llama3", "OPENAI_BASE_URL": "http://h:1/v1", "OPENAI_API_KEY": "k"}
    )
    assert (cfg.model, cfg.base_url, cfg.api_key, cfg.enabled) == ("llama3", "http://h:1/v1", "k",
                                                                   True)  # fmt: skip
    empty = LLMConfig.from_env({})
    assert (empty.model, empty.base_url, empty.enabled) == ("gpt-4o", None, False)
    # Hugging Face's router with HF_TOKEN on a Space (a Space secret) or when asked for; a token
    # on a laptop (for downloads) must not send the chat over the network; an OpenAI key wins.
    assert not LLMConfig.from_env({"HF_TOKEN": "hf_x"}).enabled
    on_space = LLMConfig.from_env({"HF_TOKEN": "hf_x", "SYSTEM": "spaces", "SPACE_ID": "someone/warm-chat"})
    assert (on_space.base_url, on_space.api_key, on_space.model) == (HF_ROUTER, "hf_x", HF_MODEL)
    asked = LLMConfig.from_env({"HUGGING_FACE_HUB_TOKEN": "hf_y", "WARMCHAT_LLM_PROVIDER": "huggingface",
                                "WARMCHAT_LLM_MODEL": "Qwen/Qwen2.5-7B-Instruct"})  # fmt: skip
    assert (asked.api_key, asked.model, asked.provider) == (
        "hf_y",
        "Qwen/Qwen2.5-7B-Instruct",
        "Hugging Face",
    )
    assert "hf_y" not in repr(asked) and "Hugging Face" in OpenAIChat(asked).describe()
    both = LLMConfig.from_env({"HF_TOKEN": "hf_x", "SYSTEM": "spaces", "OPENAI_API_KEY": "k"})
    assert (both.api_key, both.base_url) == ("k", None)


def test_a_signed_in_visitor_talks_to_the_llm_with_their_own_token(fake_llm, pipe, monkeypatch):
    from warmchat import session as S
    from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT

    monkeypatch.setenv("WARMCHAT_HF_BASE_URL", fake_llm.url)  # the router, played by a local server
    monkeypatch.delenv("WARMCHAT_LLM_MODEL", raising=False)
    fake_llm.answer(json.dumps({"reply": "Hello! I'm doing well, thanks for asking.", "emotion": "happy",
                                "intensity": 0.6}))  # fmt: skip
    visitor, other = S.ChatSession(), S.ChatSession()
    portraits = (str(DEFAULT_AGENT_PORTRAIT), str(DEFAULT_USER_PORTRAIT))
    try:
        assert S.sign_in(pipe, visitor, None) is None  # never signed in: nothing to say
        assert "Signed in with Hugging Face" in S.sign_in(pipe, visitor, "hf_visitor_token")
        assert S.sign_in(pipe, visitor, "hf_visitor_token") is None  # the same token: nothing new
        result, _ = S.send(pipe, visitor, "Hi there, how are you?", *portraits)
        assert result.agent_node.text == "Hello! I'm doing well, thanks for asking."
        sent = fake_llm.requests[-1]
        assert sent["authorization"] == "Bearer hf_visitor_token" and sent["body"]["model"] == HF_MODEL
        assert any("Signed in" in n for n in visitor.notices)
        # The token stays in memory: not in the saved tree, not in the session's repr.
        files = [f for f in visitor.conv.work_dir.rglob("*") if f.is_file() and f.suffix in (".json", ".txt")]
        assert files and all("hf_visitor_token" not in f.read_text() for f in files)
        assert "hf_visitor_token" not in repr(visitor)
        # Another visitor, not signed in, is answered by the offline engine.
        n = len(fake_llm.requests)
        result, _ = S.send(pipe, other, "Hi there, how are you?", *portraits)
        assert len(fake_llm.requests) == n and "doing well, thanks for asking" not in result.agent_node.text
        assert "Signed out" in S.sign_in(pipe, visitor, None) and visitor.conv.dialogue is None
    finally:
        visitor.close()
        other.close()


def test_the_templates_file_follows_its_schema(tmp_path):
    from warmchat.dialogue.templates import TEMPLATES_FILE, load_templates

    pools, fresh, favourites = load_templates()
    assert "extra" in pools and fresh and favourites["food"]
    good = json.loads(TEMPLATES_FILE.read_text())
    for change, fault in (
        (lambda d: d["pools"]["greet"]["*"].append("Hi {nmae}!"), "unknown placeholder"),
        (lambda d: d["pools"]["greet"].update(grumpy=["Hm."]), "styles"),
        (lambda d: d["pools"].pop("extra"), "extra"),
        (lambda d: d["pools"]["bye"]["*"].append("  "), "empty line"),
    ):
        bad = json.loads(json.dumps(good))
        change(bad)
        (tmp_path / "t.json").write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=fault):
            load_templates(tmp_path / "t.json")


def test_openers_come_from_the_model_and_fall_back_to_the_offline_one(fake_llm, engine):
    fake_llm.answer('{"reply": "Hi! Have you baked anything lately?", "emotion": "happy", "intensity": 0.5}')
    r = chat(fake_llm, engine).opening(Persona(name="Ava"), "baking", seed=2)
    assert (r.text, r.backend, r.notice) == ("Hi! Have you baked anything lately?", "openai", None)
    assert "baking" in fake_llm.requests[-1]["body"]["messages"][-1]["content"]  # the topic was asked for
    fake_llm.answer(None, status=500)
    r = chat(fake_llm, engine).opening(Persona(name="Ava"), "baking", seed=2)
    assert r.backend == "offline" and "baking" in r.text and "HTTP 500" in r.notice
    assert r.text == engine.opening(Persona(name="Ava"), "baking", seed=2).text


def _talk(engine, messages, seed=0):
    history: list[Utterance] = []
    replies = []
    for turn, message in enumerate(messages):
        history.append(Utterance("user", message))
        r = engine.reply(history, Persona(), seed=seed + turn)
        history.append(Utterance("agent", r.text, r.emotion))
        replies.append(r)
    return replies


@pytest.mark.parametrize("seed", SEEDS)
def test_facts_jokes_and_going_back_are_answered_as_such(engine, seed):
    # Issue 15's five messages, in one conversation.
    r = _talk(
        engine,
        [
            "My grandmother passed away last night and I can't stop crying.",
            "The airline lost my luggage and nobody at the desk would even look at me. This is outrageous!",
            "By the way, what is the capital of Australia?",
            "Why did the scarecrow win an award? Because he was outstanding in his field!",
            "Sorry, going back to what I said earlier: do you think I should call them again tomorrow?",
        ],
        seed,
    )
    fact, joke, back = r[2].text, r[3].text, r[4].text
    # No guess at a fact it cannot look up (it used to say "Probably, though I could be wrong"),
    # no "that sounds frustrating" about the capital; the feeling still on the table is asked after.
    assert ("look" in fact or "check" in fact) and "Canberra" not in fact and "Sydney" not in fact, fact
    assert "capital" not in fact and "luggage" in fact, fact
    assert "outstanding in his field" in joke and r[3].emotion.dominant == "happy", joke
    # Going back finds the airline, not the grandmother, and answers the question about calling.
    assert "luggage" in back and "call them again tomorrow" in back and "grandmother" not in back, back
    assert len({x.text for x in r}) == 5


def test_junk_and_other_languages_get_an_honest_reply_without_a_stale_topic(engine):
    messages = ["I got a new puppy called Pixel!", "مرحبا كيف حالك", "你好，今天天气很好",
                "<script>alert(1)</script>", "aaaaaaaaaaaaaaaaaaaaaaaa", "sdfghjkl", "¿Dónde está la biblioteca?"]  # fmt: skip
    r = _talk(engine, messages)
    for msg, reply in zip(messages[1:], r[1:], strict=True):
        assert "Pixel" not in reply.text and "puppy" not in reply.text, (msg, reply.text)
    assert all("English" in x.text for x in (r[1], r[2], r[6]))
    assert all("English" not in x.text for x in r[3:6])  # junk is not a language
    texts = [x.text for x in r]
    assert len(set(texts)) == len(texts)
    # Laughter, accents and English with a foreign word are neither.
    from warmchat.dialogue.offline.special import is_junk
    from warmchat.language import looks_english

    assert not is_junk("hahaha") and not is_junk("Hmm") and is_junk("<b>hi</b>")
    assert looks_english("I had a coffee at the café with Zoë.") and not looks_english("Je suis très content")
    for line in ("I had a coffee at the café with Zoë.", "Beautiful sunset yesterday evening"):
        assert "English" not in _talk(engine, [line])[0].text


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Who wrote Hamlet?", "fact"),
        ("How many legs does a spider have?", "fact"),
        ("Do you know when the Berlin Wall fell?", "fact"),
        ("What should I feed my dog?", None),  # advice, not a fact
        ("What do you think about cats?", None),
        ("How are you today?", None),
        ("Knock knock. Who's there? Lettuce.", "joke"),
        ("What's the story behind travelling?", None),  # the engine's own follow-up (agent <-> agent)
        ("What was the best part of the trip?", None),
        ("Why is the sky blue?", "fact"),
    ],
)
def test_what_counts_as_a_fact_question_or_a_joke(message, kind):
    from warmchat.dialogue.offline.special import fact_question, joke_punchline

    got = "joke" if joke_punchline(message) else ("fact" if fact_question(message) else None)
    assert got == kind


def test_the_dialogue_evaluation_meets_its_bars(engine, classifier):
    from warmchat.bench.dialogue import evaluate, load_conversations

    convs = load_conversations()
    assert len(convs) >= 60 and len({c["kind"] for c in convs}) >= 10
    figures, _ = evaluate(engine, classifier, convs)
    # Issue 15's bars: no artefacts, no repeats, refers back >= 80 %, label agrees >= 90 %.
    assert figures["with_artefacts"] == 0 and figures["with_repeats"] == 0, figures
    assert figures["refers_back_share"] >= 0.8 and figures["label_agrees_share"] >= 0.9, figures
    assert figures["turns_needing_reference"] >= 25 and figures["similarity_to_message_mean"] > 0.3


def test_two_personas_talking_stay_themselves(engine, classifier):
    from warmchat.bench.dialogue import evaluate_agents

    figures, played = evaluate_agents(engine, classifier, seeds=4, turns=10)
    assert figures["lines"] == 80
    # No parrots (a sentence either persona said), no sad faces nobody prompted (the tree's mood
    # drifted sad on misread lines), no persona unsaying what it said of itself.
    assert figures["with_artefacts"] == 0 and figures["with_repeats"] == 0, figures
    assert figures["unprompted_distress"] == 0 and figures["persona_flips"] == 0, figures
    # Light talk stays light: no line's face is stronger than 0.6 on words that read neutral.
    assert figures["label_agrees_share"] >= 0.8, figures
    # A topic worn out is left for another (ten turns on one hobby ran out of new things to say).
    texts = " ".join(c.reply for _, cs in played for c in cs)
    assert any(k in texts for k in ("new subject", "covered", "curious about lately")), texts[:500]


def test_what_a_persona_says_of_its_ties_to_a_thing():
    from warmchat.dialogue.analysis import stance

    assert stance("Yes, I really do. Music is one of my favourite things.") == "fan"
    assert stance("A friend brought up cooking once, and I've been hooked ever since.") == "fan"
    assert stance("Oh, fun! I don't know much about rainy days, but I'm curious.") == "new"
    assert stance("Not really, to be honest, but I'm curious about music.") == "new"
    assert stance("It sounds like you've always wondered about gardening.") is None  # their ties, not mine
    assert stance("What's the story behind old films?") is None


def test_a_face_is_no_stronger_than_the_words(engine):
    # Two personas sharing joy about a hobby climbed each other to a grin at 0.9 on "I think it
    # started when I was little": words that read neutral get a mild face; happy words keep theirs.
    grin = EmotionState.of("happy", 0.9)
    plain = engine._temper(grin, "I think it started when I was little, and it just stuck.")
    assert plain.dominant == "happy" and plain.intensity <= 0.5
    assert engine._temper(grin, "That's wonderful news, I'm so happy for you!").intensity == pytest.approx(
        0.9
    )
    # A hobby is not news: a persona's cheerful label on plain words gets no congratulations.
    history = [Utterance("user", "Honestly, old films surprised me more than I expected.", grin)]
    r = engine.reply(history, Persona(), grin, seed=3)
    assert "thrilled" not in r.text and "good news" not in r.text.lower(), r.text


def test_the_evaluations_checks_catch_what_they_name():
    from warmchat.bench.dialogue import artefacts
    from warmchat.emotion import EmotionState, agrees

    assert artefacts("I've always wondered about let's.") and artefacts(
        "What do you love about the spoken message?"
    )
    assert (
        artefacts("Tell me about your your dog.")
        and artefacts("I love {topic}.")
        and artefacts("It was a apple")
    )
    assert not artefacts("Tell me about your dog, and how Max is doing.")
    cheerful = EmotionState.of("happy", 0.7)
    assert not agrees(EmotionState.of("sad", 0.9), cheerful)  # a cheerful reply labelled sad 0.9 (issue 15)
    assert agrees(EmotionState.of("sad", 0.5), EmotionState.of("fearful", 0.4))
    assert not agrees(EmotionState.of("angry", 0.8), EmotionState.of("neutral", 0.3))
    assert agrees(EmotionState.of("neutral", 0.3), cheerful)


@pytest.mark.parametrize(
    ("chosen", "valence_wanted"), [("sad", "negative"), ("happy", "positive"), ("angry", "negative")]
)
def test_a_chosen_emotion_is_written_into_the_reply(engine, classifier, chosen, valence_wanted):
    from warmchat.emotion import agrees, valence

    # The visitor picks the agent's emotion: the words must carry it, not just the face
    # (a cheerful reply labelled sad 0.9 was issue 15's example).
    want = EmotionState.of(chosen, 0.9)
    for seed, message in enumerate(["I went to the market this morning.", "My cousin visited us on Sunday."]):
        r = engine.reply([Utterance("user", message)], Persona(), seed=seed, emotion=want)
        read = classifier.classify(r.text)
        assert r.emotion == want and valence(read) == valence_wanted and agrees(want, read), (r.text, read)


def test_the_llm_is_asked_to_write_in_the_chosen_emotion(fake_llm, engine):
    fake_llm.answer(json.dumps({"reply": "Oh no, that is so sad.", "emotion": "happy", "intensity": 0.2}))
    want = EmotionState.of("sad", 0.8)
    r = chat(fake_llm, engine).reply(HISTORY, Persona(), emotion=want)
    system = fake_llm.requests[-1]["body"]["messages"][0]["content"]
    assert "sad (intensity 0.80)" in system and "sound sad" in system
    assert r.emotion == want  # the visitor's choice, not the model's label
    fake_llm.answer(None, status=500)  # and the fallback writes in it too
    r = chat(fake_llm, engine).reply(HISTORY, Persona(), emotion=want)
    assert r.backend == "offline" and r.emotion == want


@pytest.mark.parametrize(
    ("news", "kind"),
    [
        ("My dog Max is sick and I'm really worried.", "negative"),
        ("I finally finished renovating my kitchen!", "positive"),
    ],
)
def test_in_agent_to_agent_talk_each_side_owns_its_news(engine, news, kind):
    from warmchat.dialogue import PARTNER_PERSONA, swap_roles
    from warmchat.emotion import valence

    # The second persona said the news; the agent answered kindly about "your ...". The second
    # persona must answer as its owner: not comfort the agent back ("Fear makes everything feel
    # bigger ..."), not ask how the agent will celebrate the kitchen.
    path = [Utterance("user", news)]
    agent = engine.reply(path, Persona(), seed=0)
    assert "your" in agent.text.lower()
    path.append(Utterance("agent", agent.text, agent.emotion))
    back = engine.reply(swap_roles(path), PARTNER_PERSONA, seed=1)
    topic = "dog Max" if "Max" in news else "kitchen"
    assert f"my {topic}" in back.text.replace("My ", "my ") and f"your {topic}" not in back.text, back.text
    assert valence(back.emotion) == ("negative" if kind == "negative" else "positive"), back.emotion


@pytest.mark.slow
def test_the_sign_in_button_is_there_on_a_space_and_only_there(tmp_path):
    import os
    import subprocess
    import sys

    from warmchat.paths import REPO_DIR

    # Gradio on a Space (SYSTEM=spaces, its OAuth variables set as a Space with hf_oauth sets them)
    # adds the sign-in routes; elsewhere the button is left out (Gradio's local stand-in needs a
    # machine logged in to the Hub and raises otherwise).
    code = ("import app; print(any(type(b).__name__ == 'LoginButton' for b in app.demo.blocks.values()),"
            " any('/login/huggingface' == getattr(r, 'path', '') for r in app.demo.app.routes))")  # fmt: skip
    space = {"SYSTEM": "spaces", "SPACE_ID": "someone/warm-chat", "OAUTH_CLIENT_ID": "id", "OAUTH_CLIENT_SECRET": "secret",
             "OAUTH_SCOPES": "openid profile inference-api", "OPENID_PROVIDER_URL": "https://huggingface.co"}  # fmt: skip
    base = {k: v for k, v in os.environ.items() if k not in space and k != "HF_TOKEN"}
    for env, want in ((base | space, "True True"), (base, "False False")):
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR, env=env | {"TMPDIR": str(tmp_path)},
                             capture_output=True, text=True, timeout=180)  # fmt: skip
        assert out.returncode == 0 and out.stdout.strip().splitlines()[-1] == want, out.stderr[-2000:]


@pytest.mark.parametrize(
    "manners", ["Of course, happy to help.", "Aw, you're so welcome.", "No problem at all!"]
)
def test_good_manners_are_not_news(engine, manners):
    # "Of course, happy to help." read as happy news got "How are you going to celebrate?" (agent <-> agent).
    history = [Utterance("user", "Thanks for listening."), Utterance("agent", "Thank you, that means a lot."),
               Utterance("user", manners)]  # fmt: skip
    r = engine.reply(history, Persona(), seed=0)
    assert (
        "celebrate" not in r.text and "wonderful" not in r.text.lower() and "congrat" not in r.text.lower()
    ), r.text


def test_going_back_with_nothing_to_go_back_to_still_answers_the_question(engine):
    # The first message of a conversation may say "going back to what I said": no earlier topic,
    # so the question in it is answered as advice (it got "If it feels right to you, I'd say go for it").
    r = _talk(
        engine, ["Sorry, going back to what I said earlier: should I call the airline again tomorrow?"]
    )[0]
    assert "call the airline again tomorrow" in r.text, r.text
