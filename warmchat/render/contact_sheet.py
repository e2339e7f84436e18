"""A contact sheet of the renderer's key frames, to look at before trusting any figure.

    python -m warmchat.render.contact_sheet --out docs/contact_sheet.png [--portrait P ...]

One row per portrait: neutral, an open vowel, a closed bilabial, a blink, each
emotion's preset at intensity 0.9, and the head turned -15 and +15 degrees.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.motion.presets import emotion_expression
from warmchat.motion.speaker import viseme_for
from warmchat.motion.tracks import CH, K
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.render.face import load_portrait
from warmchat.render.warp import WarpRenderer

REST = np.array([0, 0, 0, 0, 0, 1.0])


def key_frames() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, expression (K,), pose (6,)) of every tile of a row."""
    blink = np.zeros(K)
    blink[[CH["eyeBlinkLeft"], CH["eyeBlinkRight"]]] = 1.0
    tiles = [
        ("neutral", np.zeros(K), REST),
        ("vowel 'a'", viseme_for("a")[0] * 1.0 + np.eye(K)[CH["jawOpen"]] * 0.2, REST),
        ("bilabial 'p'", viseme_for("p")[0], REST),
        ("blink", blink, REST),
    ]
    tiles += [(e, emotion_expression(EmotionState.of(e, 0.9)), REST) for e in EMOTIONS if e != "neutral"]
    tiles += [
        ("yaw -15", np.zeros(K), np.array([-15, 0, 0, 0, 0, 1.0])),
        ("yaw +15", np.zeros(K), np.array([15, 0, 0, 0, 0, 1.0])),
    ]
    return tiles


def sheet(portraits: list, tile: int = 192, zoom: float = 1.5) -> np.ndarray:
    """(rows * tile, cols * tile, 3) RGB: each tile is the face region (``zoom`` x its width) of a frame."""
    rows = []
    for p in portraits:
        face = load_portrait(p)
        r = WarpRenderer(face)
        c = face.geometry["center"]
        half = min(face.geometry["width"] * zoom, face.size) / 2  # the face and a little around it
        x0, y0 = (
            int(np.clip(c[0] - half, 0, face.size - 2 * half)),
            int(np.clip(c[1] - half, 0, face.size - 2 * half)),
        )
        row = []
        for label, expr, pose in key_frames():
            f = r.render(expr, pose)[y0 : y0 + int(2 * half), x0 : x0 + int(2 * half)]
            f = cv2.resize(f, (tile, tile), interpolation=cv2.INTER_AREA)
            cv2.rectangle(f, (0, tile - 22), (tile, tile), (30, 30, 30), -1)
            cv2.putText(
                f, label, (6, tile - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA
            )
            row.append(f)
        rows.append(np.concatenate(row, 1))
    return np.concatenate(rows, 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--portrait", action="append", help="portrait(s); default: the two default portraits")
    ap.add_argument("--out", default="contact_sheet.png", help="PNG to write")
    args = ap.parse_args(argv)
    img = sheet(args.portrait or [DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({img.shape[1]}x{img.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
