"""Train the audio-to-expression model on speech synthesised with eSpeak NG and the neural voices.

    python -m warmchat.train.audio2expr [--quick] [--out PATH] [--seed 0] [--threads N]

Steps:

    1. corpus: generated sentences spoken by eSpeak NG in many voices (the
       curated ones, and English accents times voice variants) and, for a
       share of them, by the neural voices (Kokoro "heart", Piper "joe", timed
       by their own models' phoneme lengths), at random rates, pitches and
       emotions (prosody), some sped up or slowed down; the targets are
       what the hand-made viseme speaker shows for their phoneme timings
       (``neutral_targets``: visemes with coarticulation plus the loudness jaw)
    2. augmentation, per batch, so the model carries over to recorded voices:
       envelope-vocoded speech (syllable timing without phonetic detail),
       reverberation (random exponentially decaying impulse responses),
       additive noise (white to brown, babble, music-like tones, hum) at random
       SNR, random gain and occasional clipping, random EQ / band-limiting,
       SpecAugment frequency masks; and some crops of music or noise alone,
       whose target is the hand-made speaker's loudness-only path
    3. stage 1: audio -> neutral targets, the whole network
    4. stage 2: fine-tune the emotion conditioning (FiLM, output offset, last
       blocks, head) on targets = neutral + the emotion's preset with
       interactions (``emotion_targets``), a quarter of the batches neutral so
       the neutral mapping is kept
    5. evaluate (held-out eSpeak speech, and the jaw against loudness on the
       recorded voices of ../shared/data/head-motion when present) and save the
       state_dict, config and training metadata

Everything is seeded from ``--seed``; the full run takes about 10-15 minutes
on one core, ``--quick`` about a minute.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.motion.audio2expr import (
    DEFAULT_WEIGHTS,
    N_COND,
    Audio2ExprConfig,
    LoadedModel,
    build_model,
    count_parameters,
    emotion_targets,
    frame_audio,
    log_mel,
    neutral_targets,
    predict,
    resample,
    save_checkpoint,
)
from warmchat.motion.speaker import SpeakerConfig
from warmchat.motion.tracks import CH, CHANNELS, FPS, K
from warmchat.paths import SHARED_VIDEOS
from warmchat.speech import NEURAL_VOICES, TTS, EspeakTTS, Phoneme, TTSConfig, load_audio, loudness_envelope

log = logging.getLogger(__name__)

HUMAN_DIR = SHARED_VIDEOS


@dataclass
class TrainConfig:
    """Corpus, augmentation and optimisation settings of one training run."""

    seed: int = 0  # seeds the sentences, voices, augmentation, initialisation and batches
    n_utterances: int = 2000  # utterances in the training corpus (~2 h of speech)
    n_val: int = 64  # held-out utterances (other sentences), evaluated clean and augmented
    max_sentences: int = 2  # sentences per utterance: 1..this (several give natural pauses)
    speeds: tuple[float, ...] = (
        0.9,
        0.95,
        1.05,
        1.1,
    )  # speed/pitch perturbations by resampling (small ratios: fast)
    speed_prob: float = 0.4  # share of utterances perturbed so
    neural_share: float = (
        0.35  # share of utterances spoken by the neural voices (heart, joe), timed by their models
    )
    clip_frames: int = 128  # training crop, video frames (5.1 s)
    batch: int = 16  # crops per batch
    stage1_steps: int = 2000  # audio -> neutral targets
    stage2_steps: int = 600  # emotion fine-tuning
    lr1: float = 2e-3  # peak learning rate of stage 1 (one-cycle)
    lr2: float = 7e-4  # peak learning rate of stage 2
    weight_decay: float = 1e-4  # AdamW weight decay
    velocity_weight: float = 0.5  # weight of the frame-to-frame difference loss (sharp closures)
    jaw_spread_weight: float = 2.0  # weight of matching each crop's jaw standard deviation (keeps the swing)
    neutral_share2: float = 0.25  # share of neutral conditions in stage 2
    noise_prob: float = 0.8  # share of crops with additive noise
    snr_db: tuple[float, float] = (0.0, 30.0)  # additive noise SNR range
    reverb_prob: float = 0.5  # share of crops with reverberation
    rt60_s: tuple[float, float] = (0.1, 0.9)  # reverberation time range
    eq_prob: float = 0.7  # share of crops with a random EQ / band limit
    clip_prob: float = 0.1  # share of crops driven into clipping
    vocode_prob: float = 0.35  # share of crops replaced by envelope-vocoded speech (see Batcher._vocode)
    band_mask_prob: float = (
        0.5  # share of crops with 1-2 mel band ranges masked (SpecAugment frequency masks)
    )
    band_mask_max: int = 24  # widest mask, mel bands
    nonspeech_prob: float = 0.15  # share of crops with music or noise alone, trained to follow their loudness
    lr_cond: float = 1e-2  # learning rate of the emotion layers in stage 2 (they must move far from zero)
    log_every: int = 100  # steps between progress lines


def quick_config(seed: int) -> TrainConfig:
    """A run of about a minute: for checking the script, not for shipping."""
    return TrainConfig(
        seed=seed, n_utterances=160, n_val=16, stage1_steps=120, stage2_steps=50, batch=12, log_every=20
    )


# Channel weights of the loss: the jaw and lip closure carry lip sync; the eyes
# only see the presets (blinks are added at run time, not learned).
_LOSS_WEIGHTS = np.ones(K, np.float32)
for _ch, _w in {
    "jawOpen": 3.0,
    "mouthClose": 2.0,
    "mouthPress": 1.5,
    "eyeBlinkLeft": 0.5,
    "eyeBlinkRight": 0.5,
}.items():
    _LOSS_WEIGHTS[CH[_ch]] = _w


# ============================================================================ 1. sentences
_NAMES = "Bob Mary Paul Emma Peter Mia Ben Martha Philip Maya Tom Olivia Victor Sam Ruth Jim Zoe Owen Lucy Frank".split()
_NOUNS = (
    "map book boat bread apple window garden music problem plan morning evening friend family "
    "mountain river bottle camera paper picture baby puppy kitten teacher doctor market museum "
    "village city office bridge balloon umbrella coffee tea sandwich pizza bicycle bus train "
    "airplane moon star ocean beach forest flower shoe hat jacket phone computer letter message "
    "question answer story movie song piano guitar violin kitchen bedroom mirror wall door key "
    "money job project meeting weekend birthday party holiday summer winter rain snow wind fire "
    "voice smile idea dream memory surprise mistake reason moment future number chair table"
).split()
_VERBS = (
    "bring find move open paint build visit watch fix buy sell bake carry push pull keep "
    "remember forget believe imagine finish start explore measure improve borrow return share "
    "help love enjoy miss follow choose play read write sing call meet ask thank"
).split()
_PAST = (
    "brought found moved opened painted built visited watched fixed bought sold baked carried "
    "pushed pulled kept remembered forgot believed imagined finished started explored measured "
    "improved borrowed returned shared helped loved enjoyed missed followed chose played read "
    "wrote sang called met asked thanked"
).split()
_ADJ = (
    "big small warm cold bright dark happy sad beautiful strange quiet loud old new blue purple "
    "brown smooth rough heavy light simple perfect broken famous wonderful terrible lovely "
    "empty full friendly careful busy lazy funny serious open modern ancient polite"
).split()
_ADV = "quickly slowly happily really maybe probably always never often sometimes usually barely".split()
_PLACES = (
    "the park|the beach|my office|the museum|the market|the mountains|Boston|Paris|Bombay|"
    "the bakery|the library|the bus stop|the harbour|the village"
).split("|")
_TIMES = (
    "today|tomorrow|on Monday|by Friday|next week|this evening|last summer|at noon|"
    "in the morning|before breakfast|after the movie|every weekend"
).split("|")
_INTERJ = "Oh|Well|Wow|Hmm|Look|Yes|No|Please|Really|Okay|Hey|Ah".split("|")
_NUMBERS = "one two three four five six seven eight nine ten twelve fifteen twenty a hundred".split()
_TEMPLATES = (
    "{N} {P} the {A} {n} to {pl}.",
    "Did you {v} the {n} {t}?",
    "I {adv} {v} the {A} {n} with {N}.",
    "{I}, the {n} is {A}!",
    "Please {v} my {n} before {t}.",
    "We could {v} {num} {n}s {t}, maybe.",
    "Why would {N} {v} a {A} {n}?",
    "My {n} and your {n} are both {A}.",
    "{N} says the {n} at {pl} is {A} and {A}.",
    "If we {v} the {n} {t}, {N} will be {A}.",
    "{I}! I never thought the {n} would be so {A}.",
    "Can we {v} the {n} together {t}?",
    "The {A} {n} {P} my {n} {adv}.",
    "There are {num} {A} {n}s near {pl}.",
    "{N}, {v} the {n}, then {v} the {n}.",
    "It is {A}, but the {n} is {adv} {A}.",
)


def _syllable_word(rng: np.random.Generator) -> str:
    """A pronounceable nonsense word: extra phoneme sequences beyond the word lists."""
    on = [
        "b",
        "p",
        "m",
        "f",
        "v",
        "w",
        "t",
        "d",
        "n",
        "s",
        "z",
        "k",
        "g",
        "l",
        "r",
        "sh",
        "ch",
        "th",
        "br",
        "pl",
        "st",
    ]
    nu = ["a", "e", "i", "o", "u", "oo", "ee", "ai", "ou", "oa"]
    co = ["", "", "m", "p", "b", "n", "t", "s", "k", "l", "rd", "mp"]
    return "".join(rng.choice(on) + rng.choice(nu) + rng.choice(co) for _ in range(int(rng.integers(1, 4))))


def make_sentence(rng: np.random.Generator) -> str:
    """One random sentence from the templates and word lists (a tenth are nonsense syllables)."""
    if rng.random() < 0.1:
        words = [_syllable_word(rng) for _ in range(int(rng.integers(3, 9)))]
        return (" ".join(words)).capitalize() + str(rng.choice([".", "?", "!"]))
    t = str(rng.choice(_TEMPLATES))
    fill = {
        "N": _NAMES, "n": _NOUNS, "v": _VERBS, "P": _PAST, "A": _ADJ, "adv": _ADV,
        "pl": _PLACES, "t": _TIMES, "I": _INTERJ, "num": _NUMBERS,
    }  # fmt: skip
    out = []
    i = 0
    while i < len(t):  # fill each {slot} with a fresh draw (str.format would repeat one)
        if t[i] == "{":
            j = t.index("}", i)
            out.append(str(rng.choice(fill[t[i + 1 : j]])))
            i = j + 1
        else:
            out.append(t[i])
            i += 1
    s = "".join(out)
    return s[0].upper() + s[1:]


# ============================================================================ 1. corpus
@dataclass
class Utterance:
    """One training utterance at 16 kHz with its neutral targets."""

    audio: np.ndarray  # (T * 640,) float32, RMS-normalised, padded to whole frames
    targets: np.ndarray  # (T, K) neutral targets from the phonemes (what TTS speech shows)
    phonemes: list[Phoneme]  # timings (for the bilabial check)
    text: str


# Beyond the curated voices: English accents of eSpeak NG times its voice variants
# (Klatt synthesis, whisper, creaky, old and young voices ...), for timbres that
# are further from the default voice, as recorded voices are.
_ACCENTS = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
_VARIANTS = (
    "klatt", "klatt2", "klatt4", "klatt5", "klatt6", "whisper", "whisperf", "croak", "Andy", "Annie",
    "belinda", "grandpa", "aunty", "edward", "linda", "steph", "travis", "zac", "max", "quincy", "rob",
    "boris", "Lee", "Michael", "announcer", "f1", "f2", "f5", "m2", "m4", "m5", "m6", "m8",
)  # fmt: skip


def random_voice(rng: np.random.Generator) -> str:
    """Half the time a curated voice (``EspeakTTS.voices()``), else a random accent + variant."""
    if rng.random() < 0.5:
        return str(rng.choice(EspeakTTS.voices()))
    return f"{rng.choice(_ACCENTS)}+{rng.choice(_VARIANTS)}"


def _random_emotion(rng: np.random.Generator) -> EmotionState:
    return EmotionState.of(str(rng.choice(EMOTIONS)), float(rng.uniform(0, 1)))


def synthesize_corpus(n: int, rng: np.random.Generator, cfg: TrainConfig, sr: int = 16000) -> list[Utterance]:
    """``n`` utterances with random sentences, voices (eSpeak's, and a share of the neural ones),
    rates, pitches, emotions and speeds."""
    spf = sr // FPS
    out: list[Utterance] = []
    neural = TTS() if cfg.neural_share > 0 else None  # the app's default voices, with their models' timings
    for _ in range(n):
        text = " ".join(make_sentence(rng) for _ in range(int(rng.integers(1, cfg.max_sentences + 1))))
        if neural is not None and rng.random() < cfg.neural_share:
            sp = neural.synthesize(text, _random_emotion(rng), voice=str(rng.choice(list(NEURAL_VOICES))))
        else:
            tts = EspeakTTS(
                TTSConfig(
                    voice=random_voice(rng),
                    rate_wpm=int(rng.integers(120, 241)),
                    pitch=int(rng.integers(25, 76)),
                    pitch_range=int(rng.integers(15, 91)),
                    volume=int(rng.integers(70, 141)),
                )
            )
            sp = tts.synthesize(text, _random_emotion(rng))
        audio = resample(sp.audio, sp.sample_rate, sr)
        phonemes = sp.phonemes
        if rng.random() < cfg.speed_prob:
            # Play faster or slower: tempo and pitch move together, timings scale.
            s = float(rng.choice(cfg.speeds))
            audio = resample(audio, round(sr * s), sr)
            phonemes = [Phoneme(p.symbol, p.start / s, p.end / s) for p in phonemes]
        T = int(np.ceil(audio.size / spf))
        audio = np.pad(audio, (0, T * spf - audio.size))
        loud = loudness_envelope(audio, sr, FPS, T)
        rms = (
            float(np.sqrt(np.mean(audio[np.abs(audio) > 1e-4] ** 2))) if np.any(np.abs(audio) > 1e-4) else 1.0
        )
        out.append(
            Utterance(
                (audio * (0.1 / max(rms, 1e-6))).astype(np.float32),
                neutral_targets(phonemes, loud),
                phonemes,
                text,
            )
        )
    return out


def loudness_targets(loud: np.ndarray, cfg: SpeakerConfig | None = None) -> np.ndarray:
    """(T, K) what ``VisemeSpeaker`` shows for a recording without phoneme timings (its steps 1' and 3).

    The jaw follows the loudness envelope ``loud`` (T,), the lips close in the
    dips, the inner brows lift on rising loudness: the target for non-speech crops.
    """
    c = cfg or SpeakerConfig()
    T = len(loud)
    vals = np.zeros((T, K), np.float32)
    vals[:, CH["jawOpen"]] = 0.7 * loud**0.8
    dips = np.clip(0.25 - loud, 0, None) * 4 * (np.convolve(loud, np.ones(9) / 9, "same") > 0.2)
    vals[:, CH["mouthClose"]] = 0.6 * dips
    rise = np.clip(np.diff(loud, prepend=loud[:1]), 0, None)
    emph = np.convolve(rise, np.hanning(7) / np.hanning(7).sum(), "same")
    vals[:, CH["browInnerUp"]] += c.brow_emphasis * np.clip(emph * 6, 0, 1)
    return np.clip(vals, 0, 1).astype(np.float32)


# ============================================================================ 2. batches + augmentation
class Batcher:
    """Random crops of 1-3 concatenated utterances with pauses, augmented (numpy, seeded)."""

    def __init__(
        self, corpus: list[Utterance], cfg: TrainConfig, mcfg: Audio2ExprConfig, rng: np.random.Generator
    ):
        self.corpus, self.cfg, self.mcfg, self.rng = corpus, cfg, mcfg, rng
        self.spf = mcfg.samples_per_frame
        self.freqs = np.linspace(0, mcfg.sample_rate / 2, mcfg.n_fft // 2 + 1)
        # Music-like noise is slow to make: a bank of clips made once, cropped at random.
        n = cfg.clip_frames * self.spf
        self.music_bank = [self._make_music(2 * n) for _ in range(32)]

    def _crop(self) -> tuple[np.ndarray, np.ndarray]:
        """(L * 640,) audio and (L, K) targets: utterances joined by pauses, cropped at random."""
        rng, L, spf = self.rng, self.cfg.clip_frames, self.spf
        auds, tars = [], []
        total = 0
        while total < L + 10:
            gap = int(rng.integers(0, 20)) if auds or rng.random() < 0.5 else 0  # 0-0.8 s pause
            auds.append(np.zeros(gap * spf, np.float32))
            tars.append(np.zeros((gap, K), np.float32))
            u = self.corpus[int(rng.integers(len(self.corpus)))]
            auds.append(u.audio)
            tars.append(u.targets)
            total += gap + len(u.targets)
        tar, aud = np.concatenate(tars), np.concatenate(auds)
        s = int(rng.integers(0, max(1, len(tar) - L + 1)))
        return aud[s * spf : (s + L) * spf], tar[s : s + L]

    # --- noise sources, each (N,) with unit RMS
    def _coloured(self, n: int) -> np.ndarray:
        alpha = self.rng.uniform(0, 2)  # 0 white, 1 pink, 2 brown
        spec = np.fft.rfft(self.rng.standard_normal(n))
        f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
        return np.fft.irfft(spec * f ** (-alpha / 2), n)

    def _babble(self, n: int) -> np.ndarray:
        out = np.zeros(n)
        for _ in range(int(self.rng.integers(1, 6))):
            u = self.corpus[int(self.rng.integers(len(self.corpus)))].audio
            s = int(self.rng.integers(0, n))
            seg = u[: n - s]
            out[s : s + len(seg)] += seg
        return out

    def _music(self, n: int) -> np.ndarray:
        clip = self.music_bank[int(self.rng.integers(len(self.music_bank)))]
        if clip.size < n:  # a held-out utterance can be longer than the bank's clips: loop the clip
            clip = np.tile(clip, n // clip.size + 1)
        s = int(self.rng.integers(0, max(1, clip.size - n)))
        return clip[s : s + n]

    def _make_music(self, n: int) -> np.ndarray:
        """Chords of harmonic tones with attack/decay envelopes: a crude stand-in for background music."""
        rng, sr = self.rng, self.mcfg.sample_rate
        out = np.zeros(n)
        t0 = 0
        while t0 < n:
            d = int(rng.uniform(0.15, 0.9) * sr)
            t = np.arange(min(d, n - t0)) / sr
            env = np.minimum(t / 0.01, 1.0) * np.exp(-t * rng.uniform(1, 8))
            for _ in range(int(rng.integers(1, 4))):
                f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
                for h in range(1, 7):
                    if f0 * h < sr / 2:
                        out[t0 : t0 + len(t)] += (
                            env * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3)) / h
                        )
            t0 += d
        return out

    def _hum(self, n: int) -> np.ndarray:
        f0 = float(self.rng.choice([50.0, 60.0]))
        t = np.arange(n) / self.mcfg.sample_rate
        return sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6)) + 0.1 * self.rng.standard_normal(
            n
        )

    def _reverb(self, x: np.ndarray) -> np.ndarray:
        rng, sr = self.rng, self.mcfg.sample_rate
        rt60 = rng.uniform(*self.cfg.rt60_s)
        n_ir = int(min(rt60, 0.6) * sr)
        t = np.arange(n_ir) / sr
        ir = rng.standard_normal(n_ir) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
        ir[: int(0.002 * sr)] = 0.0  # the first reflections come a little after the direct sound
        ir *= rng.uniform(0.2, 1.5) / np.sqrt(np.sum(ir**2) + 1e-9)  # direct-to-reverberant ratio
        ir[0] = 1.0
        n = x.size + n_ir
        nfft = 1 << (n - 1).bit_length()
        y = np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(ir, nfft), nfft)[: x.size]
        return y

    def _vocode(self, x: np.ndarray) -> np.ndarray:
        """Envelope-vocoded speech: each band's envelope kept, its fine structure replaced.

        The speech is split into 1 to 8 log-spaced bands; in each, the temporal
        envelope (rectified, smoothed over 10 ms) modulates a carrier of noise or
        music-like tones in the same band. Phonetic detail is mostly gone, the
        timing of syllables is not, and the targets are unchanged: where the
        spectrum is unfamiliar (singing, music, odd voices) the model learns to
        follow the syllable envelope instead of guessing phonemes. (Training
        such crops on the hand-made speaker's loudness-only targets instead was
        tried and followed music less well.)
        """
        rng, n, sr = self.rng, x.size, self.mcfg.sample_rate
        nb = int(rng.choice([1, 1, 2, 4, 8]))  # one band (the bare envelope) twice as often
        edges = np.geomspace(100.0, 7000.0, nb + 1)
        f = np.fft.rfftfreq(n, 1.0 / sr)
        spec = np.fft.rfft(x)
        carrier = np.fft.rfft(self._music(n) if rng.random() < 0.6 else rng.standard_normal(n))
        k = np.ones(sr // 100) / (sr // 100)
        out = np.zeros(n)
        for lo, hi in itertools.pairwise(edges):
            band = (f >= lo) & (f < hi)
            env = np.convolve(np.abs(np.fft.irfft(spec * band, n)), k, "same")
            c = np.fft.irfft(carrier * band, n)
            out += env * c / (np.sqrt(np.mean(c**2)) + 1e-9)
        return out

    def _eq(self) -> np.ndarray:
        """(F,) random power gain over STFT bins: high-pass, maybe low-pass, tilt, a few peaks."""
        rng, f = self.rng, np.maximum(self.freqs, 1.0)
        db = np.zeros_like(f)
        hp = rng.uniform(50, 400)
        db += np.where(f < hp, -12.0 * np.log2(hp / f), 0.0)
        if rng.random() < 0.5:
            lp = rng.uniform(2500, 7000)
            db += np.where(f > lp, -24.0 * np.log2(f / lp), 0.0)
        db += rng.uniform(-3, 3) * np.log2(f / 1000.0)
        for _ in range(int(rng.integers(0, 4))):
            fc, bw, g = (
                np.exp(rng.uniform(np.log(150), np.log(6000))),
                rng.uniform(0.3, 2.0),
                rng.uniform(-9, 9),
            )
            db += g * np.exp(-0.5 * (np.log2(f / fc) / (bw / 2)) ** 2)
        return (10.0 ** (np.maximum(db, -60.0) / 10.0)).astype(np.float32)

    def augment(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Augmented (N,) audio and its (F,) EQ power curve (applied inside the features)."""
        rng, cfg = self.rng, self.cfg
        x = x.astype(np.float64)
        speech_rms = np.sqrt(np.mean(x[np.abs(x) > 1e-4] ** 2)) if np.any(np.abs(x) > 1e-4) else 0.1
        if rng.random() < cfg.vocode_prob:
            x = self._vocode(x)
        if rng.random() < cfg.reverb_prob:
            x = self._reverb(x)
        if rng.random() < cfg.noise_prob:
            kind = rng.choice(["coloured", "coloured", "babble", "music", "hum"])
            noise = getattr(self, f"_{kind}")(x.size)
            noise *= 1.0 / (np.sqrt(np.mean(noise**2)) + 1e-9)
            snr = rng.uniform(*cfg.snr_db) + (5.0 if kind in ("babble", "music") else 0.0)
            x = x + noise * speech_rms * 10 ** (-snr / 20)
        x = x * 10 ** (rng.uniform(-20, 10) / 20)
        if rng.random() < cfg.clip_prob:
            x = np.clip(x * rng.uniform(2, 8), -0.3, 0.3)
        eq = self._eq() if rng.random() < cfg.eq_prob else np.ones_like(self.freqs, dtype=np.float32)
        return x.astype(np.float32), eq

    def batch(self, augment: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(B, L * 640) audio, (B, F) EQ curves and (B, L, K) neutral targets."""
        auds, eqs, tars = [], [], []
        for _ in range(self.cfg.batch):
            if augment and self.rng.random() < self.cfg.nonspeech_prob:
                a, t = self._nonspeech()
            else:
                a, t = self._crop()
            a, eq = self.augment(a) if augment else (a, np.ones_like(self.freqs, dtype=np.float32))
            auds.append(a)
            eqs.append(eq)
            tars.append(t)
        return np.stack(auds), np.stack(eqs), np.stack(tars)

    def _nonspeech(self) -> tuple[np.ndarray, np.ndarray]:
        """(L * 640,) music-like tones or noise under a random syllable-rate envelope, and its targets.

        The targets are the hand-made speaker's audio-only path on the crop's own
        loudness: for sound without speech in it, the lips follow the loudness.
        """
        rng, L, spf = self.rng, self.cfg.clip_frames, self.spf
        n = L * spf
        x = self._music(n) if rng.random() < 0.6 else self._coloured(n)
        # Envelope: smooth noise at 2-8 Hz over a 0-30 dB range, with some pauses.
        k = max(2, int(self.mcfg.sample_rate / rng.uniform(2, 8)))
        env_db = np.convolve(rng.standard_normal(n // k + 3), np.ones(2) / 2, "same")
        env_db = np.interp(np.arange(n) / k, np.arange(env_db.size), env_db) * rng.uniform(3, 12)
        env = 10 ** (np.clip(env_db, -30, 10) / 20)
        env *= np.repeat(rng.random(L) > rng.uniform(0, 0.2), spf)  # dropped frames: pauses
        x = (x * env).astype(np.float32)
        x *= 0.1 / (np.sqrt(np.mean(x**2)) + 1e-9)
        return x, loudness_targets(loudness_envelope(x, self.mcfg.sample_rate, FPS, L))


def random_condition(rng: np.random.Generator, neutral_share: float) -> np.ndarray:
    """(N_COND,) a random emotion input: mostly one emotion, some mixtures, some neutral."""
    dist = np.zeros(len(EMOTIONS))
    if rng.random() < neutral_share:
        dist[0] = 1.0
    else:
        main = int(rng.integers(1, len(EMOTIONS)))
        dist = rng.dirichlet(np.full(len(EMOTIONS), 0.3)) * rng.uniform(0, 0.6)
        dist[main] += 1.0
        dist /= dist.sum()
    intensity = float(rng.uniform(0, 1))
    return np.concatenate([dist * intensity, [intensity]]).astype(np.float32)


def mask_bands(feats, mcfg: Audio2ExprConfig, cfg: TrainConfig, rng: np.random.Generator):
    """SpecAugment frequency masks on (B, n_features, 4T) features, in place; returns them.

    Masked mel bands read as the floor (no energy); the loudness row is never
    masked. The model cannot lean on any one band, and leans more on the
    loudness where a spectrum is unlike speech.
    """
    for b in range(feats.shape[0]):
        if rng.random() >= cfg.band_mask_prob:
            continue
        for _ in range(int(rng.integers(1, 3))):
            w = int(rng.integers(1, cfg.band_mask_max + 1))
            lo = int(rng.integers(0, mcfg.n_mels - w + 1))
            feats[b, lo : lo + w] = feats[b, : mcfg.n_mels].min()
    return feats


# ============================================================================ 3-4. training
def _loss(pred, target, cfg: TrainConfig):
    """Loss of pred against target, both (B, T, K).

    Channel-weighted MSE on the values, plus the same on frame-to-frame
    differences (sharp closures), plus the mismatch of each crop's jaw spread:
    MSE alone lets the jaw swing less wherever the input is uncertain (noise,
    music), and a timid jaw drowns in the renderer and the re-tracing.
    """
    import torch

    w = torch.from_numpy(_LOSS_WEIGHTS)
    val = ((pred - target) ** 2 * w).mean()
    vel = (((pred[:, 1:] - pred[:, :-1]) - (target[:, 1:] - target[:, :-1])) ** 2 * w).mean()
    jaw = CH["jawOpen"]
    spread = ((pred[:, :, jaw].std(1) - target[:, :, jaw].std(1)) ** 2).mean()
    return val + cfg.velocity_weight * vel * 10.0 + cfg.jaw_spread_weight * spread  # differences ~10x smaller


def run_stage(
    model, batcher: Batcher, cfg: TrainConfig, mcfg: Audio2ExprConfig, stage: int, rng: np.random.Generator
) -> list[float]:
    """Train one stage; returns the loss history (mean per ``log_every`` steps)."""
    import torch

    steps, lr = (cfg.stage1_steps, cfg.lr1) if stage == 1 else (cfg.stage2_steps, cfg.lr2)
    if stage == 1:
        params = list(model.parameters())
    else:
        # The audio front end and the first blocks stay as stage 1 left them.
        for p in model.parameters():
            p.requires_grad_(False)
        keep = [model.film, model.cond_out, model.norm, model.head, *list(model.blocks)[-2:]]
        params = [p for m in keep for p in m.parameters()]
        for p in params:
            p.requires_grad_(True)
    # The emotion layers start at zero and must reach offsets of several logits:
    # in stage 2 they learn faster than the rest (Adam moves a weight ~lr per step).
    cond_ids = {id(p) for m in (model.film, model.cond_out) for p in m.parameters()}
    groups = [
        {"params": [p for p in params if id(p) not in cond_ids], "lr": lr},
        {"params": [p for p in params if id(p) in cond_ids], "lr": cfg.lr_cond if stage == 2 else lr},
    ]
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=cfg.weight_decay)
    max_lr = [g["lr"] for g in groups]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=steps, pct_start=0.1)
    model.train()
    history, running, t0 = [], [], time.perf_counter()
    for step in range(1, steps + 1):
        audio, eq, target = batcher.batch()
        if stage == 1:
            # Neutral of any intensity: the model learns that it changes nothing.
            i = rng.uniform(0, 1, (len(target), 1)).astype(np.float32)
            cond = np.concatenate([i, np.zeros((len(i), len(EMOTIONS) - 1), np.float32), i], 1)
        else:
            cond = np.stack([random_condition(rng, cfg.neutral_share2) for _ in target])
            target = np.stack([emotion_targets(t, c[:-1]) for t, c in zip(target, cond)])
        with torch.no_grad():
            feats = mask_bands(log_mel(torch.from_numpy(audio), mcfg, torch.from_numpy(eq)), mcfg, cfg, rng)
        pred = model(feats, torch.from_numpy(cond))
        loss = _loss(pred, torch.from_numpy(target), cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        running.append(loss.item())
        if step % cfg.log_every == 0 or step == steps:
            history.append(float(np.mean(running)))
            running = []
            el = time.perf_counter() - t0
            print(
                f"  stage {stage} step {step:5d}/{steps}  loss {history[-1]:.5f}  "
                f"lr {sched.get_last_lr()[0]:.2e}  {el:6.0f} s (eta {el / step * (steps - step):4.0f} s)",
                flush=True,
            )
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return history


# ============================================================================ 5. evaluation
def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-9 and b.std() > 1e-9 else float("nan")


def evaluate(model, mcfg: Audio2ExprConfig, val: list[Utterance], cfg: TrainConfig, seed: int) -> dict:
    """Held-out eSpeak speech (clean and augmented), emotion effect, and human recordings when present."""
    import torch

    loaded = LoadedModel(model.eval(), mcfg, {})
    neutral = np.zeros(N_COND, np.float32)
    mse_clean, mse_aug, jaw_r, closed, n_bil = [], [], [], 0, 0
    aug = Batcher(val, cfg, mcfg, np.random.default_rng([seed, 99]))
    for u in val:
        T = len(u.targets)
        out = predict(loaded, u.audio, T, neutral)
        mse_clean.append(float(np.mean((out - u.targets) ** 2)))
        a, eq = aug.augment(u.audio)
        with torch.inference_mode():
            feats = log_mel(torch.from_numpy(frame_audio(a, mcfg, T))[None], mcfg, torch.from_numpy(eq)[None])
            out_aug = model(feats, torch.from_numpy(neutral)[None])[0].numpy()
        mse_aug.append(float(np.mean((out_aug - u.targets) ** 2)))
        loud = loudness_envelope(u.audio, mcfg.sample_rate, FPS, T)
        jaw_r.append(_corr(out[:, CH["jawOpen"]], loud))
        for p in u.phonemes:
            if p.symbol in ("p", "b", "m"):
                c = min(int((p.start + p.end) / 2 * FPS), T - 1)
                closed += int(out[max(c - 1, 0) : c + 2, CH["mouthClose"]].max() > 0.5)
                n_bil += 1
    res: dict = {
        "val_mse_clean": float(np.mean(mse_clean)),
        "val_mse_augmented": float(np.mean(mse_aug)),
        "val_jaw_loudness_r": float(np.nanmean(jaw_r)),
        "val_bilabial_closed_share": closed / max(n_bil, 1),
    }
    # Emotion: the mean of each preset's channels on one held-out utterance, per emotion.
    u = val[0]
    effect = {}
    for name in EMOTIONS:
        cond = np.concatenate([EmotionState.of(name, 0.8).weighted(), [0.8]]).astype(np.float32)
        out = predict(loaded, u.audio, len(u.targets), cond)
        want = emotion_targets(u.targets, cond[:-1])
        effect[name] = {
            "smile": float(out[:, CH["mouthSmileLeft"]].mean()),
            "brow_inner": float(out[:, CH["browInnerUp"]].mean()),
            "brow_down": float(out[:, CH["browDownLeft"]].mean()),
            "mse_to_target": float(np.mean((out - want) ** 2)),
        }
    res["emotion"] = effect
    # Recorded voices: the model's jaw against the loudness the benchmark uses (first 20 s).
    human = {}
    for v in sorted(HUMAN_DIR.glob("lp_*.mp4")) if HUMAN_DIR.is_dir() else []:
        sp = load_audio(v, mcfg.sample_rate, max_seconds=600)
        a = sp.audio[: 20 * mcfg.sample_rate]
        T = int(np.ceil(a.size / mcfg.samples_per_frame))
        out = predict(loaded, a, T, neutral)
        loud = loudness_envelope(a, mcfg.sample_rate, FPS, T)
        opening = out[:, CH["jawOpen"]] * (1 - out[:, CH["mouthClose"]])  # roughly what the renderer shows
        human[v.stem] = {"jaw": _corr(out[:, CH["jawOpen"]], loud), "opening": _corr(opening, loud)}
    if human:
        res["human_jaw_loudness_r"] = human
        for key in ("jaw", "opening"):
            res[f"human_{key}_loudness_r_mean"] = float(np.mean([h[key] for h in human.values()]))
    # Speed: 10 s of audio on one core.
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    noise = np.random.default_rng(0).standard_normal(10 * mcfg.sample_rate).astype(np.float32) * 0.1
    predict(loaded, noise, 250, neutral)
    t = time.perf_counter()
    for _ in range(5):
        predict(loaded, noise, 250, neutral)
    res["inference_ms_10s_one_core"] = (time.perf_counter() - t) / 5 * 1000
    torch.set_num_threads(torch_threads)
    return res


# ============================================================================ main
def train(cfg: TrainConfig, out: Path, threads: int, quick: bool) -> dict:
    """Run steps 1-5 and write the checkpoint to ``out``; returns the metadata saved with it."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    mcfg = Audio2ExprConfig()
    t_start = time.perf_counter()

    print(
        f"1. corpus: {cfg.n_utterances} + {cfg.n_val} utterances (eSpeak and neural voices) ...", flush=True
    )
    corpus = synthesize_corpus(cfg.n_utterances, np.random.default_rng([cfg.seed, 1]), cfg)
    val = synthesize_corpus(cfg.n_val, np.random.default_rng([cfg.seed, 2]), cfg)
    seconds = sum(len(u.targets) for u in corpus) / FPS
    t_corpus = time.perf_counter() - t_start
    print(f"   {seconds / 60:.1f} min of speech in {t_corpus:.0f} s; e.g. {corpus[0].text!r}", flush=True)

    model = build_model(mcfg)
    n_params = count_parameters(model)
    print(f"   model: {n_params} parameters ({n_params * 4 / 1e6:.2f} MB float32)", flush=True)
    batcher = Batcher(corpus, cfg, mcfg, np.random.default_rng([cfg.seed, 3]))

    print(
        f"2-3. stage 1: audio -> neutral targets, {cfg.stage1_steps} steps of {cfg.batch} x {cfg.clip_frames} frames",
        flush=True,
    )
    t1 = time.perf_counter()
    hist1 = run_stage(model, batcher, cfg, mcfg, 1, np.random.default_rng([cfg.seed, 4]))
    t1 = time.perf_counter() - t1

    print(f"4. stage 2: emotion fine-tuning, {cfg.stage2_steps} steps", flush=True)
    t2 = time.perf_counter()
    hist2 = run_stage(model, batcher, cfg, mcfg, 2, np.random.default_rng([cfg.seed, 5]))
    t2 = time.perf_counter() - t2

    print("5. evaluation", flush=True)
    metrics = evaluate(model, mcfg, val, cfg, cfg.seed)
    for k, v in metrics.items():
        if k != "emotion":
            print(f"   {k}: {v}", flush=True)
    total = time.perf_counter() - t_start
    meta = {
        "command": "python -m warmchat.train.audio2expr"
        + (" --quick" if quick else "")
        + f" --seed {cfg.seed} --threads {threads}",
        "train_config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()},
        "channels": list(CHANNELS),
        "emotions": list(EMOTIONS),
        "n_params": n_params,
        "corpus_minutes": seconds / 60,
        "seconds": {"corpus": t_corpus, "stage1": t1, "stage2": t2, "total": total},
        "loss_stage1": hist1,
        "loss_stage2": hist2,
        "metrics": metrics,
        "torch": torch.__version__,
        "threads": threads,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    save_checkpoint(out, model, mcfg, meta)
    print(f"saved {out} ({out.stat().st_size / 1e6:.2f} MB) after {total / 60:.1f} min", flush=True)
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m warmchat.train.audio2expr", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--quick", action="store_true", help="a one-minute run for checking the script")
    ap.add_argument("--out", type=Path, default=None, help=f"checkpoint path (default {DEFAULT_WEIGHTS})")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = ap.parse_args(argv)
    cfg = quick_config(args.seed) if args.quick else TrainConfig(seed=args.seed)
    # A quick run never overwrites the shipped weights unless asked to.
    out = args.out or (Path(tempfile.gettempdir()) / "audio2expr_quick.pt" if args.quick else DEFAULT_WEIGHTS)
    train(cfg, out, max(1, args.threads), args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
