"""Issue 12's faces bench: its measures on inputs whose answer is known, and one small real run."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from warmchat.bench import faces as FB
from warmchat.motion.tracks import FPS, K
from warmchat.render import face as F


# ----------------------------------------------------------------------------- eyes and blinks
def _eye_landmarks(gap: float, angle_deg: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """(478, 3) landmarks with only the eyes placed: 30 px wide, lids ``gap`` px apart in the middle."""
    lm = np.zeros((478, 3), np.float32)
    for (a, b), up, lo, cx in (
        (F.EYE_R_CORNERS, F.EYE_R_UPPER, F.EYE_R_LOWER, 200.0),
        (F.EYE_L_CORNERS, F.EYE_L_UPPER, F.EYE_L_LOWER, 260.0),
    ):
        lm[a, :2] = (cx - 15, 200)
        lm[b, :2] = (cx + 15, 200)
        for k, (i, j) in enumerate(zip(up, lo)):
            x = cx - 15 + 30 * (k + 0.5) / len(up)
            lift = gap / 2 if 2 <= k <= 4 else gap / 4  # the lids' middle opens most
            lm[i, :2] = (x, 200 - lift)
            lm[j, :2] = (x, 200 + lift)
    t = np.radians(angle_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    lm[:, :2] = (lm[:, :2] - 230) @ rot.T * scale + 230
    return lm


def test_eye_opening_is_lid_gap_over_eye_width_whatever_the_tilt_and_size():
    r, left = FB.eye_opening(_eye_landmarks(9.0))
    assert r == pytest.approx(0.3, abs=1e-4) and left == pytest.approx(0.3, abs=1e-4)
    tilted = FB.eye_opening(_eye_landmarks(9.0, angle_deg=25, scale=2.0))
    assert tilted == pytest.approx((0.3, 0.3), abs=1e-3)
    assert FB.eye_opening(_eye_landmarks(0.0)) == pytest.approx((0.0, 0.0), abs=1e-6)


def test_one_stray_lid_point_does_not_fake_a_blink():
    lm = _eye_landmarks(9.0)
    lm[F.EYE_R_LOWER[3], 1] = lm[F.EYE_R_UPPER[3], 1]  # one centre point collapses onto the lid above
    assert FB.eye_opening(lm)[0] == pytest.approx(0.3, abs=1e-4)


def test_blink_depth_and_rate_on_a_synthetic_eye_opening_series():
    n = 30 * FPS
    gap = np.full(n, 9.0) + np.random.default_rng(0).normal(0, 0.1, n)
    starts = list(range(40, n - 20, 75))  # one every 3 s: 20 a minute
    for s in starts[:-1]:
        gap[s : s + 4] = [6.0, 1.8, 2.7, 6.5]  # closes to 0.2 of open
    gap[starts[-1] : starts[-1] + 4] = [7.0, 5.4, 5.6, 7.2]  # a half blink: 0.6 of open
    gap[130:180] = 5.0  # a 2 s squint between two blinks: not a blink
    rel = FB.relative_eye_opening([_eye_landmarks(g) for g in gap])
    blinks = FB.find_blinks(rel)
    assert len(blinks) == len(starts)
    assert [b.closed for b in blinks[:3]] == [s + 1 for s in starts[:3]]
    fig = FB.blink_figures(rel)
    assert fig["blinks_per_min"] == pytest.approx(60 * len(starts) / 30, abs=0.5)
    assert fig["depth_median"] == pytest.approx(0.2, abs=0.03)
    assert fig["depth_shallowest"] == pytest.approx(0.6, abs=0.05)
    assert fig["closed_share"] == pytest.approx((len(starts) - 1) / len(starts))
    assert fig["closed_per_min"] == pytest.approx(60 * (len(starts) - 1) / 30, abs=0.5)
    # A lid that only slides half-way every time fails the issue's <= 0.3.
    assert FB.blink_figures(rel.clip(0.6, None))["closed_share"] == 0.0


def test_blinks_are_not_measured_without_eyes():
    assert "n/a" in FB.blink_figures(np.full(100, np.nan))
    assert FB.find_blinks(np.full(100, np.nan)) == []


# ----------------------------------------------------------------------------- geometry
def test_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 500, (60, 2))
    t = np.radians(7)
    a = 1.1 * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    dst = src @ a.T + [12.0, -30.0]
    got = FB.similarity(src, dst)
    assert np.allclose(got[:, :2], a, atol=1e-9) and np.allclose(got[:, 2], [12, -30], atol=1e-7)


def test_dip_track_peaks_fall_on_scored_frames():
    pose = FB.dip_track().as_array()
    assert len(pose) == FB.FRAMES and np.allclose(pose[:6, :5], 0)
    lo, hi = FB.PHASES["dip_strong"]
    peak = lo + int(np.argmax(pose[lo:hi, 1]))
    assert (
        peak % 2 == 0
        and pose[peak, 1] == pytest.approx(10, abs=0.1)
        and pose[peak, 4] == pytest.approx(16, abs=0.2)
    )
    lo, hi = FB.PHASES["sway"]
    assert pose[lo:hi, 3].max() == pytest.approx(16, abs=0.5) and pose[lo:hi, 3].min() == pytest.approx(
        -16, abs=0.5
    )


def test_a_video_portrait_is_its_most_restful_frame(astronaut_renderer):
    """Of a face talking (jaw open), smiling wide and at rest, the bench takes the one at rest."""
    from tests.conftest import expression

    pose = np.array([0, 0, 0, 0, 0, 1.0])
    talking = astronaut_renderer.render(expression(jawOpen=0.6), pose)
    rest = astronaut_renderer.render(expression(), pose)
    grin = astronaut_renderer.render(expression(mouthSmileLeft=1.0, mouthSmileRight=1.0), pose)
    assert FB.restful_frame([talking, grin, rest, talking]) is rest
    assert FB.restful_frame([np.zeros((64, 64, 3), np.uint8)]).shape == (64, 64, 3)  # no face: the first


# ----------------------------------------------------------------------------- ghosts and mirrors
@pytest.fixture(scope="module")
def ghost_scene(astronaut_face):
    """The astronaut's head moved 30 px down as a fixed renderer would draw it, and with a ghost.

    The fixed frame: the portrait's background with the person inpainted away
    (the segmentation's own mask), the still body, and the head layer pasted 30 px
    lower. The ghost frame: the same, plus the top quarter of the head left where
    it was (a shifted copy of the head top above the moved head).
    """
    p = astronaut_face.image
    pp = FB.person_probability(p)
    ref = FB.ghost_reference(p, astronaut_face.landmarks, pp)
    person = pp > FB.PERSON
    head = (
        cv2.resize(ref.head.astype(np.uint8), (p.shape[1], p.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    )
    head &= person
    bg = cv2.inpaint(
        p, cv2.dilate(person.astype(np.uint8) * 255, np.ones((15, 15), np.uint8)), 9, cv2.INPAINT_TELEA
    )
    shift = np.float32([[1, 0, 0], [0, 1, 30]])
    fixed = bg.copy()
    fixed[person & ~head] = p[person & ~head]
    moved = cv2.warpAffine(head.astype(np.uint8), shift, p.shape[1::-1]) > 0
    fixed[moved] = cv2.warpAffine(p, shift, p.shape[1::-1])[moved]
    ys = np.nonzero(head.any(1))[0]
    top = head.copy()
    top[ys[0] + (ys[-1] - ys[0]) // 4 :] = False
    top &= ~moved
    ghost = fixed.copy()
    ghost[top] = p[top]
    return ref, p, fixed, ghost, shift.astype(np.float64)


def test_ghost_check_passes_the_portrait_and_a_clean_dip(ghost_scene):
    ref, p, fixed, _, shift = ghost_scene
    still = FB.ghost_frame(ref, p, FB.person_probability(p), np.array([[1.0, 0, 0], [0, 1, 0]]))
    assert still.score == 0.0 and still.expected.sum() > 500  # background was looked at, none flagged
    clean = FB.ghost_frame(ref, fixed, FB.person_probability(fixed), shift)
    assert clean.score <= FB.GHOST_MAX


def test_ghost_check_flags_a_copy_of_the_head_top_above_the_head(ghost_scene):
    ref, _, _, ghost, shift = ghost_scene
    g = FB.ghost_frame(ref, ghost, FB.person_probability(ghost), shift)
    assert g.score > 3 * FB.GHOST_MAX
    rows = np.nonzero(g.ghost.any(1))[0]
    head = np.nonzero(ref.head.any(1))[0]
    quarter = head[0] + (head[-1] - head[0]) // 4
    # Found where the copy is: in the head's old top quarter, reaching above the moved head's top.
    assert rows.min() < head[0] + 30 // FB.CELL and rows.max() <= quarter + 1


def test_mirror_ratio_flags_mirrored_padding_not_the_picture(astronaut_face):
    p = astronaut_face.image
    assert FB.mirror_ratio(p) >= FB.MIRROR_MAX
    padded = cv2.copyMakeBorder(p[:, 60:-60], 0, 0, 60, 60, cv2.BORDER_REFLECT_101)
    assert FB.mirror_ratio(padded) < FB.MIRROR_MAX
    assert FB.mirror_ratio(np.full((256, 256, 3), 128, np.uint8)) == 1.0  # flat: nothing to see


def test_ghost_check_runs_on_a_renderer_and_is_clean_at_rest(astronaut_face):
    """Whatever the renderer does under motion, a frame at rest is the portrait: no ghost there."""
    calls = []

    def render(expression: np.ndarray, pose: np.ndarray) -> np.ndarray:
        calls.append(pose)
        return astronaut_face.image.copy()  # a renderer whose head never moves

    g = FB.ghost_check(astronaut_face, render, K)
    assert len(calls) == FB.FRAMES // 2 and g["frames_scored"] == FB.FRAMES // 2
    assert g["score_rest"] == 0.0 and g["frames_face_lost"] == 0
    assert g["frames_mirrored"] == 0 and g["mirror_ratio_portrait"] >= FB.MIRROR_MAX
    assert g["pass"] is True and g["_worst_image"].shape == astronaut_face.image.shape


# ----------------------------------------------------------------------------- the runner
def test_portrait_set_is_varied_and_says_why_any_is_missing():
    sources, skipped = FB.portrait_set()
    names = [s.name for s in sources] + list(skipped)
    assert len(names) >= 8 and len(set(names)) == len(names)
    assert {"astronaut", "monalisa", "grace_hopper"} <= {s.name for s in sources}
    assert all("n/a" in why for why in skipped.values())
    kinds = " ".join(s.kind for s in sources)
    assert "painting" in kinds and "photo" in kinds
    quick, _ = FB.portrait_set(quick=True)
    assert 1 <= len(quick) < len(sources)


def test_bench_sections_leave_faces_out_of_quick_runs():
    from warmchat.bench import run as R

    assert "faces" in R.SECTIONS and "faces" in R.SLOW_SECTIONS


def test_a_small_real_run_on_one_portrait():
    """One happy speaking clip and one listening clip of the astronaut, judged as the bench judges them."""
    import tempfile
    from pathlib import Path

    from warmchat.bench.evaluators import load
    from warmchat.bench.measures import read_video
    from warmchat.dialogue.base import DEFAULT_PERSONA
    from warmchat.emotion import EmotionState
    from warmchat.paths import DEFAULT_AGENT_PORTRAIT
    from warmchat.pipeline import PipelineConfig, WarmChatPipeline

    if load("expression")[0] is None or load("identity")[0] is None:
        pytest.skip("the evaluators are not installed (requirements-eval.txt)")
    pipe = WarmChatPipeline(PipelineConfig(seed=0))
    face = pipe.trace_portrait(DEFAULT_AGENT_PORTRAIT)
    idm = load("identity")[0]
    ref = idm.descriptor(face.image, face.landmarks)
    happy = EmotionState.of("happy", FB.INTENSITY)
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "c.mp4"
        pipe.say(DEFAULT_AGENT_PORTRAIT, clip, text="Hello there, how are you?", emotion=happy, seed=0)
        frames = read_video(clip)
    spk = FB.judge_clip(frames, "happy", ref, id_frames=2)
    assert spk.face_found == 1.0 and spk.top_read is not None
    assert 0.0 <= spk.fer_share <= 1.0
    assert spk.identity_mean is not None and spk.identity_max < 0.6  # still the same person
    listener = pipe.make_avatar(DEFAULT_AGENT_PORTRAIT, "B", pipe.cfg.user_voice, DEFAULT_PERSONA)
    speech = pipe.tts.synthesize("Hello there.")
    lis_frames = FB.listening_frames(pipe, listener, speech, happy)
    assert len(lis_frames) == pipe.stage.length(speech) and lis_frames[0].shape == face.image.shape
    assert (
        FB.listening_frames(pipe, listener, speech, happy)[5].tobytes() == lis_frames[5].tobytes()
    )  # seeded
    lis = FB.judge_clip(lis_frames, "happy", ref, id_frames=2)
    assert lis.face_found == 1.0 and lis.identity_max < 0.6


def test_real_people_identity_reference_reads_each_video():
    """The real-person reference: every shared video gives distances of one person to themself."""
    from warmchat.bench.evaluators import load
    from warmchat.paths import SHARED_VIDEOS

    if load("expression")[0] is None or load("identity")[0] is None:
        pytest.skip("the evaluators are not installed (requirements-eval.txt)")
    if not SHARED_VIDEOS.is_dir() or not any(SHARED_VIDEOS.glob("*.mp4")):
        pytest.skip(f"no shared videos at {SHARED_VIDEOS}")
    ref = FB.real_identity_reference(seconds=1.2, every=6)
    assert "n/a" not in ref, ref
    videos = {v.stem for v in SHARED_VIDEOS.glob("*.mp4")}
    assert set(ref["per_video"]) == videos
    frames = sum(d["frames"] for d in ref["per_emotion"].values())
    assert frames >= len(videos) * 3  # ~5 frames read per video
    for d in ref["per_emotion"].values():
        assert 0.0 <= d["mean"] < 0.6  # the same person (dlib's threshold), never a stranger
