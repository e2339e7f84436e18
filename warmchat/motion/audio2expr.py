"""The learned speaker: speech audio -> expression track, conditioned on the emotion.

This is the audio-to-expression stage of the paper: a small network reads the
speech (log-mel frames) and writes the speaker's K expression channels per video
frame, under the emotion (a distribution times an intensity). It is trained by
``python -m warmchat.train.audio2expr`` on speech synthesised with eSpeak NG,
whose phoneme timings give the targets (the hand-made viseme model), with noise,
reverberation and EQ so that it carries over to recorded voices; the weights
ship in ``assets/models/audio2expr.pt`` (model card beside them).

Pipeline of ``LearnedSpeaker.generate``:

    1. resample the speech to 16 kHz, cut or pad it to the clip's frames
    2. log-mel features: 80 mels, 10 ms hop, 4 mel frames per 25 fps video frame
    3. the network, conditioned on the emotion -> (T, K) in [0, 1]
    4. optionally mix in the phoneme-driven track when eSpeak timings are known
    5. blinks, then continue from the previous turn's last frame

The module imports torch lazily (on the first generated track), so importing
``warmchat.motion`` stays cheap. When the weights are missing or do not load,
``LearnedSpeaker`` logs one warning that says why and uses ``VisemeSpeaker``.
"""

from __future__ import annotations

import json
import logging
import pickle
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from math import gcd
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.motion.common import add_blinks, blend_in, blink_curve
from warmchat.motion.presets import PRESET_MATRIX
from warmchat.motion.speaker import SpeakerConfig, VisemeSpeaker, phoneme_track
from warmchat.motion.tracks import CH, FPS, ExpressionTrack, K
from warmchat.paths import ASSETS_DIR
from warmchat.speech import Phoneme, Speech, loudness_envelope

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

MODELS_DIR = ASSETS_DIR / "models"
DEFAULT_WEIGHTS = MODELS_DIR / "audio2expr.pt"
N_COND = len(EMOTIONS) + 1  # emotion distribution x intensity (8), then the intensity itself


# ============================================================================ configuration
@dataclass
class Audio2ExprConfig:
    """Features and network shape of the audio-to-expression model (saved with the weights)."""

    sample_rate: int = 16000  # the model's audio rate; any input is resampled to it
    n_fft: int = 512  # FFT size of the STFT (the 25 ms window is zero-padded to it)
    win_length: int = 400  # analysis window, samples (25 ms)
    hop: int = 160  # hop between mel frames, samples (10 ms)
    n_mels: int = 80  # mel bands
    f_min: float = 40.0  # lowest mel band edge, Hz
    f_max: float = 7600.0  # highest mel band edge, Hz (below Nyquist, above telephone band)
    mels_per_frame: int = 4  # mel frames per video frame: 4 x 10 ms = 40 ms = one frame at 25 fps
    floor_bels: float = -7.0  # log-mel floor below the clip's loud level (bels = log10 power), 70 dB
    loudness_channel: bool = (
        True  # append the frame energy, 0..1 over 40 dB below the loud level, as a feature
    )
    channels: int = 96  # width of the temporal convolution stack
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2)  # one residual block per entry; +-18 frames of context
    kernel: int = 3  # temporal kernel of every residual block
    dropout: float = 0.1  # dropout inside residual blocks (training only)

    def to_dict(self) -> dict[str, Any]:
        """JSON/pickle-safe plain dict (tuples as lists)."""
        d = asdict(self)
        d["dilations"] = list(self.dilations)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Audio2ExprConfig:
        """Inverse of ``to_dict``; unknown keys raise TypeError (a checkpoint from another version)."""
        d = dict(d)
        if "dilations" in d:
            d["dilations"] = tuple(int(x) for x in d["dilations"])
        return cls(**d)

    @property
    def n_features(self) -> int:
        """Feature rows per mel frame: the mels, plus loudness when ``loudness_channel``."""
        return self.n_mels + int(self.loudness_channel)

    @property
    def samples_per_frame(self) -> int:
        """Audio samples per video frame (640 at 16 kHz, 25 fps)."""
        return self.hop * self.mels_per_frame


@dataclass
class LearnedSpeakerConfig:
    """Settings of the learned speaker at run time (not saved with the weights)."""

    weights: Path = field(default_factory=lambda: DEFAULT_WEIGHTS)  # checkpoint file; default ships in assets
    emotion_strength: float = 1.0  # scales the emotion preset under the speech (as VisemeSpeaker's)
    phoneme_blend: float = 0.0  # 0..1 share of the phoneme-driven track mixed in when timings are known (TTS)
    # 0..1: where the timings put p/b/m (and f/v), the lips shut at least this much of the way the
    # viseme track shuts them (the model alone shuts 0.2-0.5 of the neural voices' bilabials)
    closure_assist: float = 1.0
    blinks_per_minute: float = 16.0  # speakers blink a little less than listeners
    blend_frames: int = 6  # frames to ease in from the previous turn's last expression


# ============================================================================ targets
def neutral_targets(
    phonemes: list[Phoneme], loud: np.ndarray, cfg: SpeakerConfig | None = None
) -> np.ndarray:
    """(T, K) what the hand-made speaker shows for neutral speech: the model's stage-1 target.

    The same terms as ``VisemeSpeaker`` (steps 1 and 3), without emotion and
    blinks: phoneme visemes with coarticulation, the jaw opened wider on loud
    syllables, inner brows lifted on stressed ones. ``loud`` is the (T,)
    loudness envelope of the speech.
    """
    c = cfg or SpeakerConfig()
    T = len(loud)
    vals = phoneme_track(phonemes, T) * c.viseme_weight
    jaw = vals[:, CH["jawOpen"]]
    closed = np.clip(vals[:, CH["mouthClose"]], 0, 1)
    vals[:, CH["jawOpen"]] = jaw * (0.6 + 0.4 * loud) + c.loudness_jaw * loud * (1 - closed)
    rise = np.clip(np.diff(loud, prepend=loud[:1]), 0, None)
    emph = np.convolve(rise, np.hanning(7) / np.hanning(7).sum(), "same")
    vals[:, CH["browInnerUp"]] += c.brow_emphasis * np.clip(emph * 6, 0, 1)
    return np.clip(vals, 0, 1).astype(np.float32)


def assist_closures(vals: np.ndarray, phonemes: list[Phoneme], strength: float = 1.0) -> np.ndarray:
    """(T, K) ``vals`` with the lips shut where the timed phonemes shut them: ``mouthClose`` raised to
    ``strength`` x the viseme track's closure (coarticulated, so it ramps in and out), the jaw
    brought up by as much. Only ever closes: elsewhere the model's lips are left alone."""
    closure = strength * phoneme_track(phonemes, len(vals))[:, CH["mouthClose"]]  # (T,)
    out = vals.copy()
    out[:, CH["mouthClose"]] = np.maximum(vals[:, CH["mouthClose"]], closure)
    out[:, CH["jawOpen"]] = vals[:, CH["jawOpen"]] * (1.0 - 0.85 * np.clip(closure, 0.0, 1.0))
    return out


# Articulation scale per emotion at full weight: aroused voices move the jaw more,
# low-arousal ones (sad, contempt, disgust) articulate less (Scherer 2003).
_ARTICULATION = np.array([0.0, 0.15, -0.3, 0.2, 0.15, 0.1, -0.15, -0.2], np.float32)  # EMOTIONS order
assert len(_ARTICULATION) == len(EMOTIONS)


def emotion_targets(neutral: np.ndarray, weighted: np.ndarray) -> np.ndarray:
    """(T, K) the stage-2 target: neutral speech ``neutral`` (T, K) under emotion ``weighted`` (8,).

    ``weighted`` is the distribution times the intensity. The emotion's preset is
    added on top, with interactions that keep speech readable:

    * the jaw's speech movement scales with arousal (``_ARTICULATION``);
    * a smile (and the cheek raise that goes with it) relaxes on wide-open vowels
      and on rounded lips, which pull the corners in;
    * a preset's own jaw drop (surprise, fear) yields to lip closures, so p/b/m
      still shut;
    * the frown of sadness eases a little while the mouth is open.
    """
    w = np.asarray(weighted, np.float32)
    preset = (w @ PRESET_MATRIX)[None].repeat(len(neutral), 0)  # (T, K)
    out = neutral.copy()
    jaw, close = neutral[:, CH["jawOpen"]], neutral[:, CH["mouthClose"]]
    round_ = np.maximum(neutral[:, CH["mouthPucker"]], neutral[:, CH["mouthFunnel"]])
    out[:, CH["jawOpen"]] = jaw * (1.0 + float(w @ _ARTICULATION))
    relax = np.clip(1.0 - 0.5 * jaw - 0.4 * round_, 0.4, 1.0)  # (T,)
    for ch in ("mouthSmileLeft", "mouthSmileRight", "cheekSquint"):
        preset[:, CH[ch]] *= relax
    preset[:, CH["jawOpen"]] *= 1.0 - close
    for ch in ("mouthFrownLeft", "mouthFrownRight"):
        preset[:, CH[ch]] *= np.clip(1.0 - 0.4 * jaw, 0.5, 1.0)
    return np.clip(out + preset, 0, 1).astype(np.float32)


def condition_vector(emotion: EmotionState, strength: float = 1.0) -> np.ndarray:
    """(N_COND,) the model's emotion input: distribution x intensity x strength, then intensity x strength."""
    s = float(np.clip(strength, 0.0, 2.0))
    return np.concatenate([emotion.weighted() * s, [emotion.intensity * s]]).astype(np.float32)


# ============================================================================ features
@cache
def _resample_filter(up: int, down: int) -> np.ndarray:
    """The anti-aliasing FIR filter ``resample_poly`` would design (designing it takes longer than using it)."""
    from scipy.signal import firwin

    max_rate = max(up, down)
    half_len = 10 * max_rate  # scipy's default length
    h = firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    return h.astype(np.float64)  # resample_poly scales a copy by ``up`` itself


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """(N',) ``audio`` resampled from ``sr_in`` to ``sr_out`` with a polyphase filter."""
    from scipy.signal import resample_poly

    x = np.asarray(audio, np.float32).reshape(-1)
    if sr_in == sr_out or x.size == 0:
        return x
    g = gcd(int(sr_in), int(sr_out))
    up, down = sr_out // g, sr_in // g
    return resample_poly(x, up, down, window=_resample_filter(up, down)).astype(np.float32)


@cache
def mel_filterbank(n_fft: int, n_mels: int, sample_rate: int, f_min: float, f_max: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale, area-normalised (Slaney).

    librosa's (the hand-written bank the model was trained with agreed with it to 4e-9).
    """
    import librosa.filters  # imported here: librosa pulls numba (~1 s), needed once per process

    fb = librosa.filters.mel(
        sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max, htk=True, norm="slaney"
    )
    return fb.astype(np.float32)


def frame_audio(audio: np.ndarray, cfg: Audio2ExprConfig, n_frames: int) -> np.ndarray:
    """(n_frames * samples_per_frame,) 16 kHz audio cut or zero-padded to exactly ``n_frames`` frames."""
    n = n_frames * cfg.samples_per_frame
    x = np.asarray(audio, np.float32).reshape(-1)[:n]
    return np.pad(x, (0, n - x.size))


def log_mel(audio: torch.Tensor, cfg: Audio2ExprConfig, eq: torch.Tensor | None = None) -> torch.Tensor:
    """(B, n_features, 4T) normalised log-mel features of (B, T * samples_per_frame) 16 kHz audio.

    Mel frame j is centred on sample (j + 0.5) * hop, so the 4 mel frames of video
    frame t are centred on its 40 ms span. ``eq`` (B, n_fft // 2 + 1), optional,
    multiplies the power spectrum (training augmentation: a random EQ curve).
    Levels are in bels relative to the clip's loud level (95th percentile of
    frame energy) and floored ``floor_bels`` below it, so a quiet recording reads
    like a loud one, as the loudness envelope that drives the targets does.
    """
    import torch

    n = audio.shape[1]
    n_mel_frames = n // cfg.hop
    # torch.stft frames are n_fft long with the window centred inside: pad so that
    # frame j is centred on (j + 0.5) * hop.
    left = cfg.n_fft // 2 - cfg.hop // 2
    need = (n_mel_frames - 1) * cfg.hop + cfg.n_fft
    x = torch.nn.functional.pad(audio, (left, max(0, need - n - left)))[:, :need]
    window = torch.hann_window(cfg.win_length, dtype=audio.dtype, device=audio.device)
    spec = torch.stft(
        x, cfg.n_fft, cfg.hop, cfg.win_length, window, center=False, return_complex=True
    )  # (B, F, 4T)
    power = spec.real**2 + spec.imag**2
    if eq is not None:
        power = power * eq[:, :, None]
    fb = torch.from_numpy(mel_filterbank(cfg.n_fft, cfg.n_mels, cfg.sample_rate, cfg.f_min, cfg.f_max))
    mel = torch.einsum("mf,bft->bmt", fb.to(power), power)  # (B, n_mels, 4T)
    bels = torch.log10(mel + 1e-10)
    energy = torch.log10(mel.sum(1) + 1e-10)  # (B, 4T)
    ref = torch.quantile(energy, 0.95, dim=1)[:, None, None]  # (B, 1, 1)
    rel = torch.maximum(bels - ref, torch.full_like(bels, cfg.floor_bels))
    # About zero mean and unit spread on speech; bands sit ~2 bels below the total energy.
    feats = (rel - cfg.floor_bels / 2.0) / 2.0
    if cfg.loudness_channel:
        # The loudness the lips follow, on the scale of ``loudness_envelope`` (40 dB = 4 bels):
        # a direct cue that survives voices, rooms and music the spectra never showed.
        loud = ((energy[:, None] - ref) / 4.0 + 1.0).clamp(0.0, 1.0)  # (B, 1, 4T)
        feats = torch.cat([feats, 2.0 * loud - 1.0], dim=1)
    return feats


# ============================================================================ the network
def build_model(cfg: Audio2ExprConfig):
    """A fresh ``Audio2Expr`` network for ``cfg`` (torch imported here)."""
    import torch
    from torch import nn

    class ChannelNorm(nn.Module):
        """LayerNorm over channels at every frame, so a frame's output never depends on the clip length."""

        def __init__(self, c: int) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T) -> (B, C, T)
            return self.norm(x.transpose(1, 2)).transpose(1, 2)

    class Block(nn.Module):
        """Pre-norm residual block: dilated temporal conv, emotion FiLM, GELU, 1x1 conv."""

        def __init__(self, c: int, dilation: int) -> None:
            super().__init__()
            self.norm = ChannelNorm(c)
            pad = dilation * (cfg.kernel - 1) // 2
            self.conv = nn.Conv1d(c, c, cfg.kernel, padding=pad, dilation=dilation)
            self.mix = nn.Conv1d(c, c, 1)
            self.drop = nn.Dropout(cfg.dropout)

        def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
            h = self.conv(self.norm(x))  # (B, C, T)
            h = h * (1.0 + gamma[:, :, None]) + beta[:, :, None]  # emotion FiLM, (B, C) each
            return x + self.drop(self.mix(torch.nn.functional.gelu(h)))

    class Audio2Expr(nn.Module):
        """(B, n_features, 4T) log-mel + (B, N_COND) emotion -> (B, T, K) expression in [0, 1]."""

        def __init__(self) -> None:
            super().__init__()
            c = cfg.channels
            self.front = nn.Sequential(
                nn.Conv1d(cfg.n_features, c, 3, padding=1),  # 30 ms of spectral context at 100 Hz
                nn.GELU(),
                nn.Conv1d(c, c, cfg.mels_per_frame, stride=cfg.mels_per_frame),  # 100 Hz -> 25 fps
            )
            self.blocks = nn.ModuleList(Block(c, d) for d in cfg.dilations)
            # Emotion conditioning: FiLM of every block plus a direct offset of the outputs.
            # Zero-initialised, so stage 1 starts (and a neutral input stays) audio-only.
            self.film = nn.Linear(N_COND, 2 * c * len(cfg.dilations))
            self.cond_out = nn.Linear(N_COND, K)
            self.norm = ChannelNorm(c)
            self.head = nn.Conv1d(c, K, 1)
            for lin in (self.film, self.cond_out):
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)
            nn.init.constant_(self.head.bias, -3.0)  # most channels rest near 0

        def forward(self, mel: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
            x = self.front(mel)  # (B, C, T)
            film = self.film(cond).chunk(2 * len(self.blocks), dim=1)  # 2 x n_blocks of (B, C)
            for i, blk in enumerate(self.blocks):
                x = blk(x, film[2 * i], film[2 * i + 1])
            logits = self.head(torch.nn.functional.gelu(self.norm(x)))  # (B, K, T)
            logits = logits + self.cond_out(cond)[:, :, None]
            return torch.sigmoid(logits).transpose(1, 2)  # (B, T, K)

    return Audio2Expr()


def count_parameters(model) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in model.parameters()))


def save_checkpoint(path: Path, model, cfg: Audio2ExprConfig, meta: dict[str, Any]) -> Path:
    """Write state_dict + config + training metadata (plain types only, so ``weights_only`` loads it)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    plain = json.loads(json.dumps(meta, default=str))  # e.g. torch's version object -> str
    torch.save({"state_dict": state, "config": cfg.to_dict(), "meta": plain, "format": 1}, path)
    return path


@dataclass
class LoadedModel:
    """A loaded network with its config and training metadata."""

    model: Any  # the Audio2Expr module, in eval mode
    config: Audio2ExprConfig
    meta: dict[str, Any]


def load_model(path: Path | str = DEFAULT_WEIGHTS) -> LoadedModel:
    """The model at ``path`` (read now: keep it, as ``LearnedSpeaker`` does).

    Raises ``RuntimeError`` with a one-line reason when the file is missing or unusable.
    """
    key = Path(path).expanduser().resolve()
    try:
        return _load(key)
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as e:
        first = (str(e).strip().splitlines() or [""])[0][:200]  # torch's messages run to pages
        why = "file not found" if isinstance(e, FileNotFoundError) else f"{type(e).__name__}: {first}"
        raise RuntimeError(f"{key}: {why}") from e


def _load(path: Path) -> LoadedModel:
    import torch

    if not path.is_file():
        raise FileNotFoundError(str(path))
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ValueError("not an audio2expr checkpoint (no state_dict)")
    known = {f.name for f in fields(Audio2ExprConfig)}
    cfg = Audio2ExprConfig.from_dict({k: v for k, v in ckpt["config"].items() if k in known})
    model = build_model(cfg)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return LoadedModel(model, cfg, dict(ckpt.get("meta", {})))


def predict(loaded: LoadedModel, audio_16k: np.ndarray, n_frames: int, cond: np.ndarray) -> np.ndarray:
    """(n_frames, K) model output for 16 kHz mono ``audio_16k`` and emotion input ``cond`` (N_COND,)."""
    import torch

    cfg = loaded.config
    x = torch.from_numpy(frame_audio(audio_16k, cfg, n_frames))[None]  # (1, T * 640)
    c = torch.from_numpy(np.asarray(cond, np.float32))[None]  # (1, N_COND)
    with torch.inference_mode():
        out = loaded.model(log_mel(x, cfg), c)  # (1, T, K)
    return out[0].numpy().astype(np.float32)


# ============================================================================ the speaker
class LearnedSpeaker:
    """Speech audio -> expression track with the learned model (``SpeakerMotion``).

    The weights load once, here. When they are missing or do not load, it falls
    back to ``VisemeSpeaker`` with one warning; ``fallback_reason`` says why.
    """

    def __init__(self, config: LearnedSpeakerConfig | None = None) -> None:
        self.cfg = config or LearnedSpeakerConfig()
        self._fallback = VisemeSpeaker(
            SpeakerConfig(
                emotion_strength=self.cfg.emotion_strength, blinks_per_minute=self.cfg.blinks_per_minute
            )
        )
        self.model: LoadedModel | None = None  # None: the speaker falls back to visemes
        self.fallback_reason: str | None = None
        try:
            self.model = load_model(self.cfg.weights)
            log.info("audio2expr: loaded %s", self.cfg.weights)
        except RuntimeError as e:
            self.fallback_reason = str(e)
            log.warning(
                "Learned speaker unavailable (%s); using the hand-made VisemeSpeaker instead. "
                "Train the weights with `python -m warmchat.train.audio2expr`.",
                e,
            )

    @property
    def available(self) -> bool:
        """Whether the learned model drives the lips (else the hand-made speaker does)."""
        return self.model is not None

    def generate(
        self,
        speech: Speech,
        emotion: EmotionState,
        n_frames: int,
        rng: np.random.Generator,
        start: np.ndarray | None = None,
    ) -> ExpressionTrack:
        """(T = n_frames) x K track; ``start`` (K,) is the previous turn's last frame."""
        loaded = self.model
        if loaded is None:
            return self._fallback.generate(speech, emotion, n_frames, rng, start)
        cfg = self.cfg
        # 1. Resample to the model's rate. 2-3. Features and the network, for neutral speech:
        #    the lips and jaw as the audio moves them.
        audio = resample(speech.audio, speech.sample_rate, loaded.config.sample_rate)
        neutral = condition_vector(EmotionState.of("neutral", 0.0))
        vals = predict(loaded, audio, n_frames, neutral)  # (T, K)
        # 4. TTS speech has exact phoneme timings: optionally lean on them too.
        if speech.phonemes and cfg.phoneme_blend > 0:
            loud = loudness_envelope(speech.audio, speech.sample_rate, FPS, n_frames)
            b = float(np.clip(cfg.phoneme_blend, 0.0, 1.0))
            vals = (1.0 - b) * vals + b * neutral_targets(speech.phonemes, loud)
        if speech.phonemes and cfg.closure_assist > 0:
            vals = assist_closures(vals, speech.phonemes, cfg.closure_assist)
        # 5. The emotion underneath, with the rules that keep speech readable on it (the
        #    model's stage-2 target, ``emotion_targets``): applied here rather than learned,
        #    so the face shows today's presets at their full strength and the speech rides
        #    on the expression instead of replacing it.
        weighted = condition_vector(emotion, cfg.emotion_strength)[:-1]
        vals = emotion_targets(vals, weighted)
        # 6. Blinks, then continue from where the previous turn ended.
        add_blinks(vals, blink_curve(n_frames, rng, cfg.blinks_per_minute))
        vals = blend_in(vals, start, frames=cfg.blend_frames)
        return ExpressionTrack(vals)
