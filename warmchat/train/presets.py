"""Search the emotion presets for what an independent reader of faces sees.

``python -m warmchat.train.presets [--seed 0] [--passes 2]``

The presets (``warmchat.motion.presets.EMOTION_PRESETS``) say which expression
channels each emotion moves. Which channels follow from FACS (the action units
of each basic emotion); how much of each is a question of what reads on a
rendered face, which we answer with the FER-2013 classifier of the bench:

1. Portraits: the bench's training half (``TRAIN``: the astronaut, Grace
   Hopper, three video stills of different people, a CG face). The other half
   (a painting, a child, two more women, an anime face) is never seen here and
   is what the bench judges by.
2. States: each emotion at intensity 0.9 still (as a listener holds it), and
   under three speech shapes at the speaker's strength (an open "a", a rounded
   "o", a spread "i"), because a speaking face must read too.
3. Objective per emotion: the mean, over portraits and states, of the judge's
   probability of the intended emotion plus half a point when it is the top
   class, minus a small cost per unit of weight (the least face that reads), minus
   ``IDENTITY_COST`` times how far the still face's dlib distance from the portrait
   exceeds ``IDENTITY_FREE`` (an emotion must not turn the face into someone else).
4. Coordinate search, seeded: channel groups (left and right tied) in a shuffled
   order, each tried at 0, 0.2, ..., 1.0 with the others fixed; ``--passes`` rounds.
   The judge reads the face box of the renderer's own landmarks (re-detecting
   every candidate would take 10x longer; the bench re-detects).

Prints the searched table as Python to paste into ``presets.py`` and the scores
before and after.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from warmchat.motion.tracks import CH, channel_vector

TRAIN = ("astronaut", "grace_hopper", "lp_d10", "lp_d12", "lp_d20", "mt_sun")
INTENSITY = 0.9
LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
WEIGHT_COST = 0.01  # objective points per unit of channel weight
IDENTITY_FREE = 0.3  # dlib distance (portrait -> still emotion frame) that costs nothing
IDENTITY_COST = 2.0  # objective points per unit of distance beyond it
# The speech shapes a speaking face passes through (from ``speaker.VISEMES``: "a", "o", "i").
SPEECH = (
    {"jawOpen": 0.62, "mouthLowerDown": 0.2},
    {"jawOpen": 0.38, "mouthFunnel": 0.55, "mouthPucker": 0.3},
    {"jawOpen": 0.16, "mouthStretchLeft": 0.45, "mouthStretchRight": 0.45},
)
# Emotion -> channel groups it may use (FACS: happy AU6+12+25, sad AU1+4+15+17, angry
# AU4+5+7+9+10+23, surprised AU1+2+5+26 with the lips rounded into an "O", fearful AU1+2+4+5+20+26, disgusted AU9+10+15+17).
GROUPS: dict[str, list[tuple[str, ...]]] = {
    "happy": [("mouthSmileLeft", "mouthSmileRight"), ("cheekSquint",), ("eyeSquint",), ("jawOpen",),
              ("mouthUpperUp",), ("mouthStretchLeft", "mouthStretchRight")],
    "sad": [("mouthFrownLeft", "mouthFrownRight"), ("browInnerUp",), ("browDownLeft", "browDownRight"),
            ("mouthPress",), ("eyeBlinkLeft", "eyeBlinkRight"), ("mouthLowerDown",)],
    "angry": [("browDownLeft", "browDownRight"), ("eyeSquint",), ("eyeWide",), ("noseSneer",),
              ("mouthFrownLeft", "mouthFrownRight"), ("mouthUpperUp",), ("mouthPress",), ("jawOpen",)],
    "surprised": [("browInnerUp",), ("browOuterUpLeft", "browOuterUpRight"), ("eyeWide",), ("jawOpen",),
                  ("mouthFunnel",), ("mouthPucker",), ("mouthLowerDown",)],
    "fearful": [("browInnerUp",), ("browOuterUpLeft", "browOuterUpRight"), ("browDownLeft", "browDownRight"),
                ("eyeWide",), ("mouthStretchLeft", "mouthStretchRight"), ("jawOpen",),
                ("mouthFrownLeft", "mouthFrownRight"), ("mouthLowerDown",)],
    "disgusted": [("noseSneer",), ("mouthUpperUp",), ("browDownLeft", "browDownRight"),
                  ("mouthFrownLeft", "mouthFrownRight"), ("eyeSquint",), ("cheekSquint",), ("jawOpen",),
                  ("mouthLowerDown",)],
}  # fmt: skip


def _vec(d: dict[str, float]) -> np.ndarray:
    return channel_vector(d).astype(np.float64)


class Judge:
    """Renders presets on the training portraits and scores them with the FER judge."""

    def __init__(self, names=TRAIN) -> None:
        from warmchat.bench import faces as FB
        from warmchat.bench.evaluators import load
        from warmchat.motion.speaker import SpeakerConfig
        from warmchat.pipeline import PipelineConfig, WarmChatPipeline
        from warmchat.render.warp import WarpRenderer

        pipe = WarmChatPipeline(PipelineConfig(seed=0))
        self.fer, why = load("expression")
        self.idm, why_id = load("identity")
        if self.fer is None or self.idm is None:
            raise SystemExit(f"the judges are not available: {why or why_id}")
        sources = {p.name: p for p in FB.portrait_set()[0]}
        missing = [n for n in names if n not in sources]
        if missing:
            raise SystemExit(f"portraits missing: {missing} (is ../shared mounted?)")
        self.renderers = [WarpRenderer(pipe.trace_portrait(sources[n].image()), pipe.cfg.warp) for n in names]
        self.refs = [self.idm.descriptor(r.face.image, r.face.landmarks) for r in self.renderers]
        self.speak = SpeakerConfig().emotion_strength
        self.pose = np.array([0, 0, 0, 0, 0, 1.0])

    def score(self, emotion: str, preset: np.ndarray) -> float:
        """Objective (see the module's step 3) of ``preset`` (K,) at intensity 0.9."""
        states = [np.clip(preset * INTENSITY, 0, 1)]
        states += [np.clip(preset * INTENSITY * self.speak + _vec(s), 0, 1) for s in SPEECH]
        total, drift = 0.0, 0.0
        for r, ref in zip(self.renderers, self.refs):
            for k, x in enumerate(states):
                frame = r.render(x, self.pose)
                lm = r.landmarks(x, self.pose)
                p = self.fer.probabilities(frame, lm)
                total += p[emotion] + 0.5 * (max(p, key=p.get) == emotion)
                if k == 0:  # identity on the still face (the descriptor takes ~80 ms)
                    full = np.concatenate([lm, np.zeros((len(lm), 1))], 1)
                    d = float(np.linalg.norm(self.idm.descriptor(frame, full) - ref))
                    drift += max(0.0, d - IDENTITY_FREE)
        n = len(self.renderers)
        return total / (n * len(states)) - WEIGHT_COST * float(preset.sum()) - IDENTITY_COST * drift / n


def search(
    judge: Judge, emotion: str, start: dict[str, float], rng: np.random.Generator, passes: int, log=print
):
    """Coordinate search (module step 4) from ``start``; returns (best preset dict, start score, best score)."""
    best = _vec(start)
    best_score = s0 = judge.score(emotion, best)
    groups = GROUPS[emotion]
    for p in range(passes):
        for gi in rng.permutation(len(groups)):
            g = groups[gi]
            for level in LEVELS:
                cand = best.copy()
                cand[[CH[c] for c in g]] = level
                if np.allclose(cand, best):
                    continue
                s = judge.score(emotion, cand)
                if s > best_score + 1e-4:
                    best, best_score = cand, s
        log(f"[presets] {emotion} pass {p + 1}: {best_score:.3f} (start {s0:.3f})")
    out = {name: round(float(best[CH[name]]), 2) for g in groups for name in g if best[CH[name]] > 0}
    return out, s0, best_score


def main(argv: list[str] | None = None) -> int:
    from warmchat.motion.presets import EMOTION_PRESETS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--emotion", action="append", help="only these emotions (repeatable)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    judge = Judge()
    table = {}
    for emo in args.emotion or list(GROUPS):
        table[emo], s0, s1 = search(judge, emo, EMOTION_PRESETS[emo], rng, args.passes)
        print(f"# {emo}: objective {s0:.3f} -> {s1:.3f}")
    print("EMOTION_PRESETS = {")
    for emo, d in table.items():
        print(f'    "{emo}": {d},')
    print("}")
    print(f"# searched in {time.perf_counter() - t0:.0f} s, seed {args.seed}, portraits {', '.join(TRAIN)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
