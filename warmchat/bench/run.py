"""``python -m warmchat bench``: speed and quality on fixed inputs, as a table and JSON.

Sections (each a dict of figures; a figure that cannot be measured is a dict
``{"n/a": reason}``, never an invented number):

1. speed: per stage, real-time factors of ``say`` and of a two-avatar turn,
   time to the first frame, app start-up, peak memory;
2. lip sync: mouth opening re-traced on rendered frames vs speech loudness
   (best lag within +-4 frames), bilabial closures, on eSpeak and on the human
   speech of the shared videos, with the same figure on the real videos;
3. identity: dlib face-descriptor distance portrait -> frames, and SSIM/PSNR of
   the background that must stay still;
4. emotion: landmark cues of each emotion against neutral, FER-2013 agreement;
5. motion: head-pose spread and smoothness, blinks, jitter, vs the real videos, re-traced;
   head: the generated head tracks themselves, seams in a minute, seed diversity;
6. text emotion: classifier accuracy on the labelled sentences; ears and voice:
   transcription and each voice's prosody; dialogue: the engines on 60+ scripted
   conversations, every reply checked (``warmchat.bench.dialogue``);
7. faces: issue 12's measure on many portraits (``warmchat.bench.faces``): FER-2013
   read-as-intended share per emotion speaking and listening, blink depth and rate,
   identity while emoting, the ghost check. It takes minutes, so ``--quick`` leaves
   it out unless ``--sections`` names it.

Inputs are fixed: the default portraits, fixed sentences, seed 0.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from warmchat.bench import measures as M
from warmchat.bench.dialogue import run as run_dialogue
from warmchat.bench.evaluators import load as load_evaluator
from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.motion.tracks import FPS
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, REPO_DIR, SHARED_VIDEOS
from warmchat.speech import NEURAL_VOICES, load_audio, loudness_envelope, save_wav

SENTENCES = REPO_DIR / "tests" / "data" / "emotion_sentences.jsonl"
HISTORY = REPO_DIR / "docs" / "bench_history.jsonl"

SAY_TEXT = "Good morning! I hope you slept well. Shall we plan a walk by the river before lunch?"  # ~5 s
LONG_TEXT = (
    "Let me tell you about my favourite place. It is a small bookshop by the harbour, with a cat "
    "that sleeps in the window and a man who knows every book by heart. On rainy afternoons I sit "
    "there for hours, reading maps of places I have never been, and planning trips I may never take."
)
EMOTION_TEXT = "I have something to tell you about what happened this morning."
TURN_MESSAGE = "I finally finished my first marathon today!"


def na(reason: str) -> dict:
    return {"n/a": reason}


def _timed(fn, *args, repeat: int = 1, **kw):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t)
    return out, best


# ----------------------------------------------------------------------------- 1. speed
def bench_speed(pipe, work: Path, quick: bool) -> dict:
    from warmchat.dialogue.base import DEFAULT_PERSONA, Utterance
    from warmchat.motion.tracks import n_frames
    from warmchat.render.video import Compositor, Mp4Writer

    out: dict = {}
    _, out["model_load_s"] = _timed(pipe.preload)
    msgs = [
        "I just got back from a trip to the mountains.",
        "My sister is getting married next week!",
        "Work has been really stressful lately.",
    ]
    t = time.perf_counter()
    for i, m in enumerate(msgs):
        pipe.dialogue.reply([Utterance("user", m)], DEFAULT_PERSONA, seed=i)
    out["dialogue_ms"] = 1000 * (time.perf_counter() - t) / len(msgs)
    speech, tts_s = _timed(pipe.tts.synthesize, SAY_TEXT, repeat=3)
    out["tts_ms_per_s_audio"] = 1000 * tts_s / speech.duration
    T = n_frames(speech.duration)
    rng = np.random.default_rng(0)
    e = EmotionState.of("happy", 0.6)
    expr, s = _timed(pipe.motion.speaker.generate, speech, e, T, rng, repeat=3)
    out["audio_to_expression_ms_per_s"] = 1000 * s / speech.duration
    _, s = _timed(pipe.motion.listener.generate, e, T, rng, speech, repeat=3)
    out["leed_ms_per_s"] = 1000 * s / speech.duration
    head, s = _timed(pipe.motion.head.generate, "speaker", e, T, rng, None, speech, repeat=3)
    out["head_motion_ms_per_s"] = 1000 * s / speech.duration
    av = pipe.make_avatar(DEFAULT_AGENT_PORTRAIT, "A", pipe.cfg.agent_voice, DEFAULT_PERSONA)
    poses = head.as_array()
    for i in range(10):  # warm caches
        av.renderer.render(expr.values[i % T], poses[i % T])
    times = []
    n = min(T, 60 if quick else 200)
    frames = []
    for i in range(n):
        t = time.perf_counter()
        frames.append(av.renderer.render(expr.values[i], poses[i]))
        times.append(time.perf_counter() - t)
    out["render_ms_per_frame_512"] = 1000 * float(np.median(times))
    out["render_ms_per_frame_512_p95"] = 1000 * float(np.percentile(times, 95))
    comp = Compositor(512, ("A", "B"))
    t = time.perf_counter()
    with Mp4Writer(work / "enc.mp4", 1024, 512) as w:
        for f in frames:
            w.write(comp.compose(f, f, 0))
    out["compose_encode_ms_per_frame"] = 1000 * (time.perf_counter() - t) / len(frames)
    # End to end: say (portrait tracing included) and a two-avatar turn.
    t = time.perf_counter()
    pipe.say(DEFAULT_AGENT_PORTRAIT, work / "say.mp4", text=SAY_TEXT)
    out["say_s_for_utterance"] = time.perf_counter() - t
    out["say_utterance_s"] = speech.duration
    out["say_real_time_factor"] = out["say_s_for_utterance"] / speech.duration
    # The marginal cost: the extra time a longer text takes over the extra seconds of video
    # (start-up, tracing and the encoder's start cancel out). Best of two runs each.
    long_s = pipe.tts.synthesize(LONG_TEXT).duration
    took = {}
    for name, text in (("short", SAY_TEXT), ("long", LONG_TEXT)):
        runs = []
        for _ in range(2):
            t = time.perf_counter()
            pipe.say(DEFAULT_AGENT_PORTRAIT, work / "say.mp4", text=text)
            runs.append(time.perf_counter() - t)
        took[name] = min(runs)
    out["say_marginal_real_time_factor"] = (took["long"] - took["short"]) / (long_s - speech.duration)
    conv = pipe.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=work / "turn")
    r = pipe.run_turn(conv, TURN_MESSAGE)
    out["turn_s"] = r.timings["total"]
    out["turn_clip_s"] = r.duration_s
    out["turn_real_time_factor"] = r.timings["total"] / r.duration_s
    # From sending to the first frame rendered, inside the pipeline (the app's first playable
    # video, through its API, is the ``live`` section).
    out["first_frame_rendered_s"] = r.timings["first_frame"]
    out["turn_stage_s"] = {k: round(v, 3) for k, v in r.timings.items() if k not in ("total", "first_frame")}
    out["app"] = bench_app_start(quick)
    out["peak_rss_mb_bench_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def bench_live(quick: bool) -> dict:
    """The first playable video through the real app's API (``warmchat.bench.stream``): ``python
    app.py`` started, six messages sent with gradio_client in one session; the median is over the
    five after the first (the first also builds the conversation), and the first is given too."""
    from warmchat.bench.stream import run as run_stream

    r = run_stream(turns=6)
    firsts = [t["first_segment_s"] for t in r["turns"]]
    later = [x for x in firsts[1:] if x is not None]
    return {
        "first_playable_video_s_median": float(np.median(later)) if later else None,
        "first_playable_video_s_first_send": firsts[0],
        "first_playable_video_s_all": firsts,
        "reply_text_s_median": float(np.median([t["reply_s"] for t in r["turns"][1:]])),
        "load_avg_1min": [t["load_avg_1min"] for t in r["turns"]],
        "chromium": bench_browser(),
    }


def bench_browser() -> dict:
    """The same in Chromium (``warmchat.bench.browser``): Send to the live video playing, in the page's
    own clock, six sends in one session, the median of the five after the first."""
    from warmchat.bench import browser

    why = browser.unavailable()
    return na(why) if why else browser.run(sends=6)


def bench_app_start(quick: bool) -> dict:
    """Start ``python app.py`` as a user would; time until it serves, until its models are
    warm (they load in the background once the page is served), and its memory."""
    from warmchat.bench.load import App, client_downloads

    try:
        app = App(timeout_s=120)
    except RuntimeError as e:  # it exited, or did not serve or warm in time: say which
        return na(str(e).splitlines()[0])
    try:
        out = {"startup_s": app.serving_s, "warm_s": app.warm_s}
        if not quick:
            from gradio_client import Client, handle_file

            # The clips a client downloads (and its scratch folders) go to a folder deleted after.
            with client_downloads() as dl:
                c = Client(app.url, verbose=False, download_files=dl)
                t = time.perf_counter()
                c.predict(
                    TURN_MESSAGE,
                    handle_file(str(DEFAULT_AGENT_PORTRAIT)),
                    handle_file(str(DEFAULT_USER_PORTRAIT)),
                    "auto",
                    0.7,
                    None,
                    api_name="/send",
                )
                out["first_turn_via_api_s"] = time.perf_counter() - t
                c.close()
        status = Path(f"/proc/{app.proc.pid}/status").read_text()
        rss = {
            ln.split(":")[0]: int(ln.split()[1]) / 1024
            for ln in status.splitlines()
            if ln.startswith(("VmRSS", "VmHWM"))
        }
        out["rss_mb"] = rss.get("VmRSS")
        out["peak_rss_mb"] = rss.get("VmHWM")
        return out
    finally:
        app.stop()


# ----------------------------------------------------------------------------- 2. lip sync
def _clip_lipsync(path: Path, phonemes=None, crop: slice | None = None) -> tuple[M.LipSync, list]:
    frames = M.read_video(path)
    if crop is not None:
        frames = [f[:, crop] for f in frames]
    tracks = M.track_frames(frames)
    speech = load_audio(path, 16000, max_seconds=600)
    loud = loudness_envelope(speech.audio, speech.sample_rate, FPS, len(frames))
    return M.lip_sync(M.cue_series(tracks)["mouth_open"], loud, phonemes), tracks


def _ls_dict(ls: M.LipSync, tracks) -> dict:
    d = {"correlation": ls.correlation, "lag_frames": ls.lag_frames, "face_found": M.detection_rate(tracks)}
    d["bilabial_closed"] = (
        ls.bilabial_closed if ls.bilabial_closed is not None else na("no phoneme timings for this audio")
    )
    return d


def bench_lipsync(pipe, work: Path, quick: bool) -> dict:

    out: dict = {"espeak": {}, "neural": {}, "human": {}, "human_reference": {}}
    portraits = [DEFAULT_AGENT_PORTRAIT] if quick else [DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT]
    texts = [SAY_TEXT] if quick else [SAY_TEXT, LONG_TEXT]
    # Every voice's speech comes with phoneme timings (eSpeak's events, the neural models' lengths),
    # so the bilabial closures are checked on each. The speech is handed to ``say`` as it is, so the
    # clip's sound is the very speech whose timings are checked (Piper's noise is not seeded).
    voices = {"espeak": [pipe.tts.config.voice], "neural": list(NEURAL_VOICES)}
    for key, names in voices.items():
        for voice in names:
            for p in portraits:
                for i, text in enumerate(texts):
                    speech = pipe.tts.synthesize(text, voice=voice)
                    clip = work / f"ls_{key}_{p.stem}_{i}.mp4"
                    pipe.say(p, clip, audio=speech)
                    ls, tracks = _clip_lipsync(clip, speech.phonemes or None)
                    out[key][f"{voice}/{p.stem}/text{i}"] = _ls_dict(ls, tracks)
    videos = sorted(SHARED_VIDEOS.glob("lp_*.mp4")) if SHARED_VIDEOS.is_dir() else []
    if not videos:
        out["human"] = out["human_reference"] = na(f"no videos with speech in {SHARED_VIDEOS}")
        return out
    videos = videos[:2] if quick else videos
    seconds = 8.0 if quick else 20.0
    for v in videos:
        sp = load_audio(v, 22050, max_seconds=600)
        n = min(len(sp.audio), int(seconds * sp.sample_rate))
        wav = save_wav(work / f"{v.stem}.wav", sp.audio[:n], sp.sample_rate)
        clip = work / f"human_{v.stem}.mp4"
        pipe.say(DEFAULT_AGENT_PORTRAIT, clip, audio=wav)
        # Phoneme times for a recording: the ears' word times filled with eSpeak's phonemes.
        timed = pipe.ears.timed(load_audio(wav, 22050, 600), pipe.tts.word_phonemes)
        ls, tracks = _clip_lipsync(clip, timed.phonemes or None)
        out["human"][v.stem] = _ls_dict(ls, tracks)
        # The same measure on the real person in the same seconds: the human reference.
        frames = M.read_video(v, max_seconds=n / sp.sample_rate)
        tr = M.track_frames(frames)
        loud = loudness_envelope(sp.audio[:n], sp.sample_rate, FPS, len(frames))
        ref = M.lip_sync(M.cue_series(tr)["mouth_open"], loud, timed.phonemes or None)  # the same word times
        out["human_reference"][v.stem] = _ls_dict(ref, tr)
    for key in ("espeak", "neural", "human", "human_reference"):
        clips = [d for d in out[key].values() if isinstance(d, dict) and "correlation" in d]
        out[key]["mean_correlation"] = float(np.mean([d["correlation"] for d in clips]))
        shut = [d["bilabial_closed"] for d in clips if isinstance(d["bilabial_closed"], float)]
        out[key]["mean_bilabial_closed"] = float(np.mean(shut)) if shut else na("no phoneme timings")
    return out


# ----------------------------------------------------------------------------- 3. identity
def bench_identity(pipe, work: Path, quick: bool) -> dict:
    import cv2
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from warmchat.render import face as F
    from warmchat.render.face import load_portrait

    out: dict = {}
    model, why = load_evaluator("identity")
    for p in [DEFAULT_AGENT_PORTRAIT] if quick else [DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT]:
        face = load_portrait(p, pipe.cfg.portrait)
        clip = work / f"id_{p.stem}.mp4"
        pipe.say(p, clip, text=SAY_TEXT, emotion=EmotionState.of("happy", 0.7))
        frames = M.read_video(clip, every=3 if quick else 1)
        tracks = M.track_frames(frames)
        d: dict = {}
        if model is None:
            d["descriptor_distance"] = na(why)
        else:
            ref = model.descriptor(face.image, face.landmarks)
            dist = [
                float(np.linalg.norm(model.descriptor(f, t) - ref))
                for f, t in zip(frames, tracks)
                if t is not None
            ]
            d["descriptor_distance_mean"] = float(np.mean(dist))
            d["descriptor_distance_max"] = float(np.max(dist))
            d["same_person_share"] = float(np.mean(np.array(dist) < 0.6))
        # The still zone: beyond the renderer's outer ring nothing may move.
        g = face.geometry
        c = g["center"]
        ring = c + (face.landmarks[F.FACE_OVAL, :2] - c) * pipe.cfg.warp.outer_ring
        still = np.ones(face.image.shape[:2], np.uint8)
        cv2.fillPoly(still, [np.round(ring).astype(np.int32)], 0)
        mask = still.astype(bool)
        ref_g = cv2.cvtColor(face.image, cv2.COLOR_RGB2GRAY)
        ss, ps = [], []
        for f in frames:
            fg = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)
            _, smap = structural_similarity(ref_g, fg, full=True, data_range=255)
            ss.append(float(smap[mask].mean()))
            ps.append(float(peak_signal_noise_ratio(face.image[mask], f[mask], data_range=255)))
        d["background_pixels_share"] = float(mask.mean())
        d["background_ssim"] = float(np.mean(ss))
        d["background_psnr_db"] = float(np.mean(ps))
        out[p.stem] = d
    return out


# ----------------------------------------------------------------------------- 4. emotion
def bench_emotion(pipe, work: Path, quick: bool) -> dict:
    model, why = load_evaluator("expression")
    out: dict = {}
    cues: dict[str, dict[str, float]] = {}
    fer: dict[str, float] = {}
    for emotion in EMOTIONS:
        clip = work / f"emo_{emotion}.mp4"
        pipe.say(
            DEFAULT_AGENT_PORTRAIT,
            clip,
            text=EMOTION_TEXT,
            emotion=EmotionState.of(emotion, 0.8 if emotion != "neutral" else 0.0),
        )
        frames = M.read_video(clip, every=2 if quick else 1)
        tracks = M.track_frames(frames)
        cs = M.cue_series(tracks)
        cues[emotion] = {k: float(np.nanmean(v)) for k, v in cs.items() if k != "nose_x"}
        if model is not None:
            hits = [
                max(model.probabilities(f, t).items(), key=lambda kv: kv[1])[0]
                for f, t in zip(frames, tracks)
                if t is not None
            ]
            fer[emotion] = None if emotion == "contempt" else float(np.mean([h == emotion for h in hits]))
    base = cues["neutral"]
    for emotion in EMOTIONS:
        delta = {
            f"{k}_vs_neutral": cues[emotion][k] - base[k]
            for k in ("corner_lift", "brow_height", "inner_brow_height", "eye_open", "mouth_open")
        }
        row: dict = {**delta}
        if model is None:
            row["fer_agreement"] = na(why)
        elif fer.get(emotion) is None:
            row["fer_agreement"] = na("FER-2013 has no contempt class")
        else:
            row["fer_agreement"] = fer[emotion]
        out[emotion] = row
    agree = [v["fer_agreement"] for v in out.values() if isinstance(v["fer_agreement"], float)]
    out["fer_mean_agreement"] = float(np.mean(agree)) if agree else na(why or "no classifiable emotion")
    return out


# ----------------------------------------------------------------------------- 5. motion
def bench_motion(pipe, work: Path, quick: bool) -> dict:
    from warmchat.dialogue.base import DEFAULT_PERSONA

    out: dict = {"generated": {}, "real": {}}
    text = LONG_TEXT if quick else " ".join([LONG_TEXT] * 3)
    clip = work / "motion_speaker.mp4"
    pipe.say(DEFAULT_AGENT_PORTRAIT, clip, text=text)
    out["generated"]["speaker"] = M.motion_stats(M.track_frames(M.read_video(clip)))
    # A listener: the user's avatar listening to the same speech.
    speech = pipe.tts.synthesize(text)
    spk = pipe.make_avatar(DEFAULT_AGENT_PORTRAIT, "A", pipe.cfg.agent_voice, DEFAULT_PERSONA)
    lis = pipe.make_avatar(DEFAULT_USER_PORTRAIT, "B", pipe.cfg.user_voice, DEFAULT_PERSONA)
    from warmchat.tree import ITT

    tree = ITT()
    node = tree.add_child(tree.root_id, "agent", "A", text, EmotionState.of("happy", 0.6))
    _, gen = pipe.stage.frames(spk, lis, speech, node, tree, np.random.default_rng(0))
    frames = [li for _, li in gen]
    out["generated"]["listener"] = M.motion_stats(M.track_frames(frames))
    videos = sorted(SHARED_VIDEOS.glob("*.mp4")) if SHARED_VIDEOS.is_dir() else []
    if not videos:
        out["real"] = na(f"no videos in {SHARED_VIDEOS}")
        out["listener"] = _listener_by_emotion(pipe, quick, {})
        return out
    real_tracks: dict[str, list] = {}
    for v in videos[:3] if quick else videos:
        tracks = M.track_frames(M.read_video(v, max_seconds=10 if quick else None))
        out["real"][v.stem] = M.motion_stats(tracks)
        real_tracks[v.stem] = tracks
    out["listener"] = _listener_by_emotion(pipe, quick, real_tracks)
    keys = [k for k in next(iter(out["real"].values())) if k != "seconds"]
    out["real_median"] = {k: float(np.nanmedian([d[k] for d in out["real"].values()])) for k in keys}
    out["real_range"] = {
        k: [
            float(np.nanmin([d[k] for d in out["real"].values()])),
            float(np.nanmax([d[k] for d in out["real"].values()])),
        ]
        for k in keys
    }
    return out


def _listener_by_emotion(pipe, quick: bool, real_tracks: dict[str, list]) -> dict:
    """A happy and a sad listener (0.8) on the same eSpeak speech, re-detected: smile, nods, blinks.

    Measured with the LEED calibration's own ``listening_stats`` on the rendered
    frames and on the real videos' tracks (``real_tracks``: name -> landmark
    tracks), so the figures compare. Corner lift is per face, so the real
    videos' row gives its spread; smiles, nods, blinks are events per minute.
    """
    from warmchat.train.leed import CHECK_TEXT, listener_figures, listening_stats, render_listener

    speech = pipe.tts.synthesize(CHECK_TEXT if quick else LONG_TEXT)
    out: dict = {"speech_s": speech.duration}
    for name in ("happy", "sad"):
        frames = render_listener(pipe, speech, EmotionState.of(name, 0.8), seed=0)
        out[name] = listener_figures([listening_stats(M.track_frames(frames))])
    out["happy_minus_sad"] = {
        k: out["happy"][k] - out["sad"][k] for k in ("corner_lift_mean_iod", "smiles_per_min", "nods_per_min")
    }
    if not real_tracks:
        out["real_median"] = na(f"no videos in {SHARED_VIDEOS}")
        return out
    real = [listening_stats(t) for t in real_tracks.values()]
    keys = ("corner_lift_std_iod", "smiles_per_min", "nods_per_min", "blinks_per_min")
    out["real_median"] = {k: float(np.median([r[k] for r in real])) for k in keys}
    out["real_range"] = {k: [float(min(r[k] for r in real)), float(max(r[k] for r in real))] for k in keys}
    return out


# ----------------------------------------------------------------------------- 5b. head tracks
def bench_head(pipe, quick: bool) -> dict:
    """CRHMG head tracks as generated (no rendering): spread and smoothness vs the real videos'
    cleaned tracks, seams in a 60 s track, and how far different seeds are apart."""
    from warmchat.train.crhmg import extract_tracks, motion_numbers

    head = pipe.motion.head
    out: dict = {"generator": "CRHMG" if getattr(head, "fallback", None) is None else "noise (fallback)"}
    neutral = EmotionState.of("neutral", 0.5)
    seeds = range(4 if quick else 12)
    # 1. 10 s speaker tracks, as many seeds: the same measures as the real 10 s windows.
    tracks = [head.generate("speaker", neutral, 250, np.random.default_rng(s)).as_array() for s in seeds]
    nums = [motion_numbers(t) for t in tracks]
    keys = [f"{f}_{m}" for f in ("yaw", "pitch", "roll") for m in ("std", "speed")]
    out["speaker_10s_median"] = {k: float(np.median([n[k] for n in nums])) for k in keys}
    # 2. The real videos' tracks (MediaPipe, cached under runs/crhmg/), cut into 10 s windows.
    if SHARED_VIDEOS.is_dir() and any(SHARED_VIDEOS.glob("*.mp4")):
        real, _ = extract_tracks(SHARED_VIDEOS)
        wins = [
            p[i : i + 250] for pieces in real.values() for p in pieces for i in range(0, len(p) - 249, 250)
        ]
        rn = [motion_numbers(w) for w in wins]
        out["real_10s_windows"] = len(wins)
        out["real_10s_range"] = {
            k: [float(np.percentile([n[k] for n in rn], 10)), float(np.percentile([n[k] for n in rn], 90))]
            for k in keys
        }
        out["real_10s_median"] = {k: float(np.median([n[k] for n in rn])) for k in keys}
        out["within_real_range"] = all(
            lo <= out["speaker_10s_median"][k] <= hi for k, (lo, hi) in out["real_10s_range"].items()
        )
    else:
        out["real_10s_range"] = na(f"no videos in {SHARED_VIDEOS}")
    # 3. A minute in one go: the largest frame-to-frame change against the track's normal (99.9th pct).
    pose = head.generate("speaker", neutral, 1500, np.random.default_rng(0)).as_array()
    d = np.abs(np.diff(pose[:, :3], axis=0))  # (1499, 3) degrees per frame
    out["seam_60s_max_over_p999"] = float((d.max(0) / np.maximum(np.percentile(d, 99.9, axis=0), 1e-6)).max())
    out["spread_60s_deg"] = [float(x) for x in pose[:, :3].std(0)]
    # 4. Diversity: mean |difference| between seed pairs, against each track's own spread.
    a = np.stack([t[:, :3] for t in tracks])  # (S, 250, 3)
    pair = [np.abs(a[i] - a[j]).mean() for i in range(len(a)) for j in range(i + 1, len(a))]
    out["seed_pair_mean_abs_diff_deg"] = float(np.mean(pair))
    out["track_mean_spread_deg"] = float(a.std(1).mean())
    # 5. The listener moves less than the speaker.
    lis = [head.generate("listener", neutral, 250, np.random.default_rng(s)).as_array() for s in seeds]
    out["listener_over_speaker_spread"] = float(
        np.mean([t[:, :3].std(0).sum() for t in lis]) / np.mean([t[:, :3].std(0).sum() for t in tracks])
    )
    return out


# ----------------------------------------------------------------------------- 6. text emotion
def bench_text_emotion(quick: bool) -> dict:
    from warmchat.emotion import ClassifierConfig, TextEmotionClassifier

    rows = [json.loads(x) for x in SENTENCES.read_text().splitlines() if x.strip()]
    out: dict = {"sentences": len(rows)}
    for method in ("embedding", "lexicon"):
        clf = TextEmotionClassifier(ClassifierConfig(method=method))
        pred = [s.dominant for s in clf.classify_many([r["text"] for r in rows])]
        out[f"{method}_accuracy"] = float(np.mean([p == r["label"] for p, r in zip(pred, rows)]))
        if clf.method != method:
            out[f"{method}_accuracy"] = na(f"fell back to {clf.method}: {clf.fallback_reason}")
    return out


# ----------------------------------------------------------------------------- ears
EARS_SENTENCES = (
    "I just got the job I wanted.", "My grandmother passed away last night.",
    "What is the capital of Australia?", "This traffic is driving me crazy!",
    "Can we talk about something else, please?", "I planted tomatoes in my garden today.",
    "The airline lost my luggage again.", "Thank you, that really helps.",
)  # fmt: skip


EARS_LONG = (
    "I went to the market this morning and bought apples, bread and a big bunch of flowers for my mother."
)


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c in " '" else " " for c in text.lower()).split()


def word_error_rate(ref: str, hyp: str) -> float:
    """Word-level edit distance over the reference's word count (case and punctuation ignored)."""
    r, h = _words(ref), _words(hyp)
    d = np.arange(len(h) + 1)
    for i, rw in enumerate(r, 1):
        prev, d[0] = d.copy(), i
        for j, hw in enumerate(h, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (rw != hw))
    return float(d[len(h)]) / max(len(r), 1)


# Rooms for the ears' test recordings: (RT60 of an exponentially decaying noise reverb in s, SNR in dB
# of white noise), both seeded.
ROOMS = {"reverb0.5": (0.5, None), "noise10dB": (0.0, 10.0), "reverb0.3+noise15dB": (0.3, 15.0)}


def _room(speech, cond: str, seed: int):
    """``speech`` as heard in room ``cond`` of ``ROOMS``."""
    from warmchat.speech import Speech

    rt60, snr = ROOMS[cond]
    rng = np.random.default_rng([seed, len(cond)])
    a, sr = speech.audio.astype(np.float64), speech.sample_rate
    if rt60 > 0:
        t = np.arange(int(rt60 * sr)) / sr
        ir = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60) * 0.3
        ir[0] = 1.0
        a = np.convolve(a, ir)[: a.size]
    if snr is not None:
        rms = np.sqrt(np.mean(a**2))
        a = a + rng.standard_normal(a.size) * rms / 10 ** (snr / 20)
    return Speech((0.5 * a / max(np.abs(a).max(), 1e-9)).astype(np.float32), sr, [])


def bench_ears(pipe, quick: bool) -> dict:
    """Transcription of recorded messages: word error rate on eSpeak speech in both avatars'
    voices, seconds per second of audio, and whether recordings with no speech are heard as none."""
    ears = pipe.ears
    if ears.model is None:
        return na(ears.fallback_reason or "no model")
    texts, reps = (EARS_SENTENCES[:2], 1) if quick else (EARS_SENTENCES, 3)
    wer, secs, dur = [], 0.0, 0.0
    by_voice: dict[str, float] = {}  # also an ASR round trip of each voice: how well it is understood
    speak_s: dict[str, float] = {}  # and how long each takes to speak the 5 s message
    for voice in ("en-us+f3", "en-gb+f4", "en-us+m3", *NEURAL_VOICES):  # eSpeak's, then the neural ones
        mine = []
        for text in texts:
            speech = pipe.tts.synthesize(text, voice=voice)
            t0 = time.perf_counter()
            heard = ears.transcribe(speech)
            mine.append(word_error_rate(text, heard.text))
            secs, dur = secs + time.perf_counter() - t0, dur + speech.duration
        by_voice[voice] = float(np.mean(mine))
        pipe.tts.synthesize(EARS_LONG, voice=voice)  # warm (a neural voice loads on first use)
        speak_s[voice] = float(
            np.median([_timed(pipe.tts.synthesize, EARS_LONG, voice=voice)[1] for _ in range(reps)])
        )
        wer += mine if voice not in NEURAL_VOICES else []
    # Recordings as a microphone in a room hears them: the neural voices' speech with reverberation
    # and noise (what a shipped recording can be; the shared videos have no transcripts).
    room = {f"{v}+{cond}": float(np.mean([word_error_rate(t, ears.transcribe(_room(pipe.tts.synthesize(t, voice=v), cond, i)).text)
                                          for i, t in enumerate(texts)]))
            for v in NEURAL_VOICES for cond in ROOMS}  # fmt: skip
    # Issue 14's latency budget: a 5 s recording transcribed in <= 0.8 s (median of three; one in --quick).
    long = pipe.tts.synthesize(EARS_LONG, voice="en-us+m3")
    long_s = float(np.median([ears.transcribe(long).seconds for _ in range(reps)]))
    t = np.arange(3 * 22050) / 22050
    rng = np.random.default_rng(0)
    quiet = {
        "noise": 0.05 * rng.standard_normal(len(t)),
        "hum": 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0),
    }
    from warmchat.speech import Speech

    empty = {k: ears.transcribe(Speech(a.astype(np.float32), 22050, [])).text == "" for k, a in quiet.items()}
    return {
        "model": ears.describe(),
        "utterances": len(wer),
        "word_error_rate_mean": float(np.mean(wer)),  # on eSpeak's voices
        "word_error_rate_by_voice": by_voice,
        "word_error_rate_in_a_room": room,
        "seconds_to_speak_long_message_by_voice": speak_s,
        "utterances_word_perfect": float(np.mean([w == 0 for w in wer])),
        "seconds_per_audio_second": secs / dur,
        "long_message_s": round(long.duration, 2),
        "long_message_transcribed_s": long_s,
        "no_speech_heard_as_none": empty,
    }


VOICE_TEXT = "I have something to tell you about what happened at the market this morning."


def bench_voice(pipe, quick: bool) -> dict:
    """How each voice carries emotion: median F0 (Hz), speaking rate (words per minute of audio)
    and loudness (RMS, dB below full scale) per emotion at intensity 0.9, for the neural voices
    and the agent's eSpeak stand-in."""
    emotions = ("neutral", "happy", "sad") if quick else EMOTIONS
    words = len(_words(VOICE_TEXT))
    out: dict = {}
    for voice in (*NEURAL_VOICES, "en-us+f3"):
        out[voice] = {}
        for e in emotions:
            sp = pipe.tts.synthesize(
                VOICE_TEXT, EmotionState.of(e, 0.0 if e == "neutral" else 0.9), voice=voice
            )
            rms = float(np.sqrt(np.mean(sp.audio.astype(np.float64) ** 2)))
            out[voice][e] = {
                "f0_hz": M.median_f0(sp.audio, sp.sample_rate),
                "words_per_min": 60.0 * words / sp.duration,
                "rms_db": 20 * float(np.log10(max(rms, 1e-9))),
                "timed_phonemes": len(sp.phonemes),
            }
    return out


# ----------------------------------------------------------------------------- 7. faces
def bench_faces(quick: bool, log=print) -> dict:
    """Issue 12's faces bench (see ``warmchat.bench.faces``); the contact sheet is written only by its own CLI."""
    from warmchat.bench.faces import run as run_faces

    return run_faces(quick=quick, sheet=None, log=log)


# ----------------------------------------------------------------------------- runner
SECTIONS = (
    "speed",
    "lipsync",
    "identity",
    "emotion",
    "motion",
    "head",
    "text_emotion",
    "ears",
    "voice",
    "dialogue",
    "live",
    "faces",
)
SLOW_SECTIONS = ("live", "faces")  # left out of --quick unless named


def run(quick: bool = False, sections: tuple[str, ...] = SECTIONS, log=print) -> dict:
    from warmchat.pipeline import PipelineConfig, WarmChatPipeline

    t0 = time.perf_counter()
    if quick and tuple(sections) == SECTIONS:
        sections = tuple(s for s in SECTIONS if s not in SLOW_SECTIONS)
    pipe = WarmChatPipeline(PipelineConfig(seed=0))
    result: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "quick": quick,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "commit": _commit(),
        "status": pipe.status(),  # which back end ran each stage (and why one fell back)
    }
    with tempfile.TemporaryDirectory(prefix="warmchat-bench-") as tmp:
        work = Path(tmp)
        for name in sections:
            t = time.perf_counter()
            log(f"[bench] {name} ...")
            fn = {
                "speed": lambda: bench_speed(pipe, work, quick),
                "lipsync": lambda: bench_lipsync(pipe, work, quick),
                "identity": lambda: bench_identity(pipe, work, quick),
                "emotion": lambda: bench_emotion(pipe, work, quick),
                "motion": lambda: bench_motion(pipe, work, quick),
                "head": lambda: bench_head(pipe, quick),
                "text_emotion": lambda: bench_text_emotion(quick),
                "ears": lambda: bench_ears(pipe, quick),
                "voice": lambda: bench_voice(pipe, quick),
                "dialogue": lambda: run_dialogue(quick),
                "live": lambda: bench_live(quick),
                "faces": lambda: bench_faces(quick, log),
            }[name]
            result[name] = fn()
            log(f"[bench] {name} done in {time.perf_counter() - t:.1f} s")
    result["bench_seconds"] = time.perf_counter() - t0
    return _clean(result)


def _commit() -> str | None:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=REPO_DIR,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _clean(x):
    """JSON-safe: numpy scalars to floats, NaN to an explained n/a."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return na("not measurable (no face or too short)") if np.isnan(x) else round(float(x), 4)
    if isinstance(x, np.integer):
        return int(x)
    return x


def record(result: dict, path: Path = HISTORY) -> None:
    """Append a run's headline figures to the history file kept in the repo."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps(headline(result), sort_keys=True) + "\n")


def _get(d: dict, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d if not isinstance(d, dict) else None


def headline(result: dict) -> dict:
    """The figures the README table shows, flat."""
    h = {"date": result["date"], "commit": result.get("commit"), "quick": result["quick"]}
    rows = {
        "render_ms_per_frame_512": ("speed", "render_ms_per_frame_512"),
        "say_real_time_factor": ("speed", "say_real_time_factor"),
        "say_marginal_real_time_factor": ("speed", "say_marginal_real_time_factor"),
        "first_playable_video_s": ("live", "first_playable_video_s_median"),
        "chromium_video_playing_s": ("live", "chromium", "video_playing_s_median"),
        "turn_real_time_factor": ("speed", "turn_real_time_factor"),
        "first_frame_rendered_s": ("speed", "first_frame_rendered_s"),
        "app_startup_s": ("speed", "app", "startup_s"),
        "app_warm_s": ("speed", "app", "warm_s"),
        "app_rss_mb": ("speed", "app", "rss_mb"),
        "lipsync_espeak": ("lipsync", "espeak", "mean_correlation"),
        "lipsync_neural": ("lipsync", "neural", "mean_correlation"),
        "lipsync_human": ("lipsync", "human", "mean_correlation"),
        "lipsync_human_reference": ("lipsync", "human_reference", "mean_correlation"),
        "bilabial_closed_espeak": ("lipsync", "espeak", "mean_bilabial_closed"),
        "bilabial_closed_neural": ("lipsync", "neural", "mean_bilabial_closed"),
        "bilabial_closed_human": ("lipsync", "human", "mean_bilabial_closed"),
        "identity_distance": ("identity", "astronaut", "descriptor_distance_mean"),
        "background_ssim": ("identity", "astronaut", "background_ssim"),
        "fer_agreement": ("emotion", "fer_mean_agreement"),
        "happy_corner_lift": ("emotion", "happy", "corner_lift_vs_neutral"),
        "text_emotion_accuracy": ("text_emotion", "embedding_accuracy"),
        "ears_word_error_rate": ("ears", "word_error_rate_mean"),
        "dialogue_refers_back": ("dialogue", "offline", "refers_back_share"),
        "dialogue_label_agrees": ("dialogue", "offline", "label_agrees_share"),
        "dialogue_artefacts": ("dialogue", "offline", "with_artefacts"),
        "head_within_real_range": ("head", "within_real_range"),
        "head_seam_60s": ("head", "seam_60s_max_over_p999"),
        "faces_fer_emotions": ("faces", "expression", "fer_share_mean_emotions"),
        "faces_identity_mean": ("faces", "identity", "mean"),
        "faces_blink_depth": ("faces", "blinks_summary", "depth_median_over_portraits"),
        "faces_ghost_all_pass": ("faces", "ghost", "all_pass"),
    }
    for k, path in rows.items():
        h[k] = _get(result, *path)
    return h


def table(result: dict) -> str:
    """A markdown table of every figure (nested keys joined by '.')."""
    lines = ["| figure | value |", "|---|---|"]

    def walk(prefix: str, d) -> None:
        if isinstance(d, dict) and "n/a" not in d:
            for k, v in d.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(d, dict):
            lines.append(f"| {prefix} | n/a: {d['n/a']} |")
        elif isinstance(d, float):
            lines.append(f"| {prefix} | {d:.4g} |")
        else:
            lines.append(f"| {prefix} | {d} |")

    for s in SECTIONS:
        if s in result:
            walk(s, result[s])
    return "\n".join(lines)
