"""Phoneme timings for speech that eSpeak NG did not time itself.

The lips (``motion.audio2expr``'s phoneme blend) and the bench's bilabial check
read eSpeak phoneme mnemonics with start and end times. Two kinds of speech
come without them:

* a neural voice's: its model decides each phoneme's length inside the ONNX
  graph. ``with_output`` exposes that tensor as an extra graph output, and
  ``from_durations`` turns the model's IPA tokens and their lengths into
  eSpeak mnemonics with times;
* a recording's: the ears' word times (Whisper's) and eSpeak's phonemes for each
  word, stretched to fill the word's span (``align_words``): a cheap forced
  alignment, good to a few tens of milliseconds inside a word.
"""

from __future__ import annotations

import unicodedata

from warmchat.speech.tts import Phoneme

# IPA (eSpeak's, Piper's and Kokoro's misaki alphabet) -> eSpeak mnemonics, the viseme table's keys.
# Kokoro writes diphthongs and affricates as single letters (A = eɪ, I = aɪ, O = oʊ, W = aʊ, Y = ɔɪ,
# Q = əʊ, ʤ, ʧ); Piper spells them out, one token a symbol.
_IPA: dict[str, str] = {
    **{c: c for c in "pbmfvwtdnszlkghj"},
    "ɡ": "g", "θ": "T", "ð": "D", "ʃ": "S", "ʒ": "Z", "ʧ": "tS", "ʤ": "dZ", "ŋ": "N", "ɹ": "r", "r": "r",
    "ɾ": "t", "ʔ": "t", "x": "k", "ç": "h", "ɫ": "l", "ɬ": "l", "ɲ": "n", "β": "b", "ɣ": "g",
    "ə": "@", "ᵊ": "@", "ɚ": "3", "ɜ": "3", "ɝ": "3", "ɪ": "I", "ᵻ": "I", "i": "i", "y": "i", "ɛ": "E",
    "e": "e", "æ": "a", "a": "a", "ɐ": "a", "ɑ": "A", "ɒ": "0", "ɔ": "O", "o": "o", "ʊ": "U", "u": "u",
    "ʌ": "V", "ø": "e", "œ": "E", "ɨ": "I", "ʉ": "u",
    "A": "eI", "I": "aI", "O": "oU", "W": "aU", "Y": "OI", "Q": "oU",
}  # fmt: skip
# Tokens that end a phrase: the mouth may rest there.
_PAUSES = set('.,!?;:—…-()"“”')


def mnemonic(token: str) -> str | None:
    """The eSpeak mnemonic for one IPA token, ``"_"`` for a pause, None for a token that only
    lengthens or marks its neighbour (stress, length, Piper's pad, a space between words)."""
    t = unicodedata.normalize("NFC", token)
    if t in _IPA:
        return _IPA[t]
    if t in _PAUSES:
        return "_"
    return None


def from_durations(tokens: list[str], seconds: list[float], offset: float = 0.0) -> list[Phoneme]:
    """Phonemes from a model's tokens and each token's length in seconds, starting at ``offset``.

    A token that is no phoneme of its own (stress, length, pad, space) gives its time to the
    phoneme before it (to a leading pause at the start); runs of pauses merge.
    """
    out: list[Phoneme] = []
    t = offset
    for tok, dur in zip(tokens, seconds, strict=True):
        end = t + max(float(dur), 0.0)
        sym = mnemonic(tok)
        if out and (sym is None or sym == out[-1].symbol == "_"):
            out[-1].end = end  # a mark or pad lengthens the phoneme before it; pauses merge
        elif end > t:
            out.append(Phoneme(sym or "_", t, end))  # a mark before any phoneme: a leading pause
        t = end
    return out


def earlier(phonemes: list[Phoneme], seconds: float) -> list[Phoneme]:
    """Every boundary between phonemes moved ``seconds`` earlier (the first start and last end stay).

    The neural models' lengths put a stop's closure, where the sound goes quiet, at the end of
    the phoneme before it: measured on p/b in 12 sentences, their spans fit the quiet best
    0.04-0.06 s earlier (eSpeak's events: 0.02 s), so the voices move theirs by 0.04 s.
    """
    if len(phonemes) < 2:
        return phonemes
    bounds = [p.end for p in phonemes[:-1]]
    lo, hi = phonemes[0].start, phonemes[-1].end
    moved = [lo, *[min(max(b - seconds, lo), hi) for b in bounds], hi]
    return [Phoneme(p.symbol, a, b) for p, a, b in zip(phonemes, moved, moved[1:], strict=False) if b > a]


def align_words(words: list[tuple[str, float, float]], phonemes_of) -> list[Phoneme]:
    """Phonemes for a recording from its words' times: each word's phonemes (``phonemes_of(word)``,
    e.g. eSpeak's for it) stretched to fill the word's span; pauses between words."""
    out: list[Phoneme] = []
    t = 0.0
    for word, start, end in words:
        if end <= start:
            continue
        ph = [p for p in phonemes_of(word) if p.symbol != "_"]
        if not ph:
            continue
        if start > t + 1e-6:
            out.append(Phoneme("_", t, start))
        t0, span = ph[0].start, max(ph[-1].end - ph[0].start, 1e-6)
        scale = (end - start) / span
        out += [Phoneme(p.symbol, start + (p.start - t0) * scale, start + (p.end - t0) * scale) for p in ph]
        t = end
    return out


# --- exposing a tensor of an ONNX graph as an output ------------------------------------------
# ONNX models are protobuf messages, and protobuf merges a message field that appears twice.
# So appending "graph { output { name: N } }" to the model's bytes adds N to the graph's outputs,
# with no onnx package; onnxruntime infers its type and shape.


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def with_output(model: bytes, tensor: str) -> bytes:
    """``model`` (a serialized ONNX ModelProto) with ``tensor`` added to its graph's outputs
    (ModelProto.graph = 7, GraphProto.output = 12, ValueInfoProto.name = 1)."""
    return model + _field(7, _field(12, _field(1, tensor.encode())))
