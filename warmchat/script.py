"""Conversation scripts for replay: who says what, optionally with which emotion.

Two formats:

* plain text, one line per utterance: ``A: Hello!`` / ``B (happy): Hi!`` /
  ``B (sad 0.8): Oh no.`` — A is the agent (left), B the user (right); blank
  lines and lines starting with ``#`` are skipped;
* JSON: a list of ``{"speaker": "A" | "B", "text": ..., "emotion": ..., "intensity": ...}``
  ("agent" / "user" are accepted for the speaker).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from warmchat.emotion import check_emotion_name, check_intensity
from warmchat.errors import UserInputError

_LINE = re.compile(
    r"^\s*(?P<who>[ABab]|agent|user)\s*(?:\((?P<emo>[a-zA-Z]+)(?:\s+(?P<int>[0-9.]+))?\))?\s*:\s*(?P<text>.+?)\s*$"
)
_SPEAKER = {"a": "A", "agent": "A", "b": "B", "user": "B"}
MAX_LINES = 200  # a replay renders every line; keep it bounded


@dataclass
class ScriptLine:
    speaker: str  # "A" (the agent, left) or "B" (the user, right)
    text: str
    emotion: str | None = None  # one of the eight, or None to read it from the text
    intensity: float | None = None  # in [0, 1], default 0.7 when an emotion is given


def parse_script(source: str | Path) -> list[ScriptLine]:
    """Parse a script from a file path or from its text; UserInputError says what line is wrong."""
    text = str(source)
    p = Path(text) if "\n" not in text and len(text) < 1000 else None
    if (p is not None and p.suffix.lower() in (".json", ".txt", ".md")) or (p is not None and p.is_file()):
        if not p.is_file():
            raise UserInputError(f"Script file not found: {p}. Check the path.")
        text = p.read_text(encoding="utf-8", errors="replace")
    lines = _parse_json(text) if text.lstrip().startswith("[") else _parse_plain(text)
    if len(lines) < 1:
        raise UserInputError('The script is empty: write lines like "A: Hello!" and "B (happy): Hi!".')
    if len(lines) > MAX_LINES:
        raise UserInputError(f"The script has {len(lines)} lines; the limit is {MAX_LINES}: split it.")
    return lines


def _line(speaker: str, text: str, emotion: str | None, intensity, where: str) -> ScriptLine:
    who = _SPEAKER.get(str(speaker).strip().lower())
    if who is None:
        raise UserInputError(f"{where}: the speaker must be A (agent) or B (user), not {speaker!r}.")
    if not str(text).strip():
        raise UserInputError(f"{where}: the line has no text.")
    emo = check_emotion_name(emotion) if emotion else None
    inten = check_intensity(intensity) if intensity is not None else (0.7 if emo else None)
    return ScriptLine(who, " ".join(str(text).split()), emo, inten)


def _parse_plain(text: str) -> list[ScriptLine]:
    out = []
    for i, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = _LINE.match(raw)
        if not m:
            raise UserInputError(
                f'Script line {i} is not "A: text" or "B (emotion): text": {raw.strip()[:60]!r}'
            )
        out.append(_line(m["who"], m["text"], m["emo"], m["int"], f"Script line {i}"))
    return out


def _parse_json(text: str) -> list[ScriptLine]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserInputError(f"The script is not valid JSON (line {e.lineno}: {e.msg}).") from None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise UserInputError('A JSON script is a list of {"speaker": "A", "text": "..."} objects.')
    return [
        _line(
            d.get("speaker", ""), d.get("text", ""), d.get("emotion"), d.get("intensity"), f"Script item {i}"
        )
        for i, d in enumerate(data, 1)
    ]
