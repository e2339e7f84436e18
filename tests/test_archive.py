"""Saved conversations are untrusted: every hostile archive is refused whole, nothing is left on disk."""

from __future__ import annotations

import json
import zipfile

import pytest

from warmchat.archive import ArchiveLimits, check_saved, unpack_zip
from warmchat.errors import UserInputError
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT


@pytest.fixture(scope="module")
def saved(pipe, tmp_path_factory):
    """A real saved conversation with one turn: its files by name."""
    wd = tmp_path_factory.mktemp("saved")
    conv = pipe.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=wd)
    pipe.run_turn(conv, "Hello there!")
    return {f.name: f.read_bytes() for f in wd.iterdir() if f.is_file() and f.name != "conversation.mp4"}


def _zip(path, files: dict[str, bytes], method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def _with_tree(saved, edit) -> dict[str, bytes]:
    tree = json.loads(saved["itt.json"])
    edit(tree)
    return {**saved, "itt.json": json.dumps(tree).encode()}


def _refused(tmp_path, files, match, **limits):
    dest = tmp_path / "dest"
    with pytest.raises(UserInputError, match=match) as e:
        unpack_zip(
            _zip(tmp_path / "in.zip", files), dest, ArchiveLimits(**limits) if limits else ArchiveLimits()
        )
    assert not dest.exists()  # nothing written stays
    assert str(tmp_path) not in str(e.value) and "Traceback" not in str(e.value)
    return str(e.value)


def test_a_real_save_unpacks_and_loads(pipe, saved, tmp_path):
    dest = unpack_zip(_zip(tmp_path / "ok.zip", saved), tmp_path / "dest")
    conv = pipe.load_conversation(dest, work_dir=dest)
    assert len(conv.tree) == 2 and conv.clips == [dest / "turn_001.mp4"]


def test_a_clip_path_outside_the_archive_is_refused(saved, tmp_path):
    def absolute(tree):
        tree["nodes"][-1]["clip_path"] = "/etc/passwd"

    def upward(tree):
        tree["nodes"][-1]["clip_path"] = "../../turn_001.mp4"

    def missing(tree):
        tree["nodes"][-1]["clip_path"] = "turn_009.mp4"

    for edit in (absolute, upward, missing):
        msg = _refused(tmp_path, _with_tree(saved, edit), "not one of the archive's own clips")
        assert "/etc" not in msg or "'/etc/passwd'" in msg  # named as written, nothing read


@pytest.mark.parametrize(
    "name, match",
    [("../evil.mp4", "inside a folder"), ("/abs/turn_001.mp4", "inside a folder"), ("sub/itt.json", "inside a folder"),
     ("notes.txt", "never has"), ("turn_001.exe", "never has")],
)  # fmt: skip
def test_names_that_are_not_flat_conversation_files_are_refused(saved, tmp_path, name, match):
    _refused(tmp_path, {**saved, name: b"x"}, match)


def test_a_zip_bomb_stops_while_it_unpacks(saved, tmp_path):
    # 200 MB of zeros in one clip entry compress to ~200 kB.
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in saved.items():
            z.writestr(name, data)
        with z.open("turn_002.mp4", "w") as w:
            for _ in range(200):
                w.write(bytes(1 << 20))
    assert (tmp_path / "bomb.zip").stat().st_size < 2 * 2**20
    dest = tmp_path / "dest"
    with pytest.raises(UserInputError, match="larger than 64 MB"):
        unpack_zip(tmp_path / "bomb.zip", dest)
    assert not dest.exists()
    # The total is bounded too: several entries each under their own limit.
    many = {**saved, **{f"turn_{i:03d}.mp4": bytes(3 << 20) for i in range(2, 8)}}
    _refused(tmp_path, many, "unpacks to more than 10 MB", max_total_bytes=10 << 20)
    _refused(
        tmp_path,
        {**saved, **{f"user_{i:03d}.wav": b"" for i in range(1, 50)}},
        "more than a saved",
        max_entries=20,
    )


def test_invalid_json_of_every_shape_gets_a_clear_message(saved, tmp_path):
    meta = json.loads(saved["conversation.json"])
    cases = [
        ({"itt.json": b"[1, 2, 3]"}, "must be a JSON object"),
        ({"itt.json": b"[" * 100_000 + b"]" * 100_000}, "nested too deeply|not valid JSON|JSON object"),
        ({"itt.json": b"\xff\xfe not text"}, "not valid JSON"),
        ({"conversation.json": json.dumps({**meta, "turn": "3"}).encode()}, "'turn' must be a whole number"),
        ({"conversation.json": json.dumps({**meta, "agent": 5}).encode()}, "'agent' must be a JSON object"),
        ({"conversation.json": json.dumps({**meta, "settings": {"seed": -1}}).encode()}, "'seed' must be"),
        ({"conversation.json": json.dumps({**meta, "settings": {"liveliness": 1e9}}).encode()}, "liveliness"),
        ({"conversation.json": b'{"format": "something else"}'}, "not a Warm Chat conversation"),
    ]
    for change, match in cases:
        _refused(tmp_path, {**saved, **change}, match)
    # A tree whose nodes are of the wrong types, or whose links disagree.
    _refused(tmp_path, _with_tree(saved, lambda t: t["nodes"][1].update(text=7)), "'text' must be")
    _refused(tmp_path, _with_tree(saved, lambda t: t["nodes"][1].update(parent="n9")), "not a consistent")
    _refused(tmp_path, _with_tree(saved, lambda t: t["nodes"][1].update(emotion=3)), "not a consistent")
    _refused(
        tmp_path,
        _with_tree(saved, lambda t: t["nodes"][-1]["meta"].update(end_state={"agent": {"expression": [1], "pose": []}, "user": {}})),
        "face state is damaged",
    )  # fmt: skip


def test_portraits_must_be_pngs_and_files_present(saved, tmp_path):
    _refused(tmp_path, {**saved, "agent.png": b"not a picture"}, "not a readable PNG")
    _refused(tmp_path, {k: v for k, v in saved.items() if k != "user.png"}, "missing user.png")
    (tmp_path / "note.zip").write_text("not a zip")
    with pytest.raises(UserInputError, match="not a zip"):
        unpack_zip(tmp_path / "note.zip", tmp_path / "d2")
    assert not (tmp_path / "d2").exists()


def test_resume_checks_the_folder_before_copying_anything(pipe, saved, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for n, data in _with_tree(saved, lambda t: t["nodes"][-1].update(clip_path="/etc/hostname")).items():
        (src / n).write_bytes(data)
    out = tmp_path / "out"
    with pytest.raises(UserInputError, match="not one of the archive's own"):
        pipe.load_conversation(src, work_dir=out)
    assert not out.exists()
    with pytest.raises(UserInputError, match=r"not a saved conversation \(no such folder"):
        check_saved(tmp_path / "nope")


def test_the_soaks_hostile_archives_are_each_refused(saved, tmp_path):
    """bench.soak's archives, crafted from a real save, are hostile for the reason each is named by."""
    from warmchat.bench.soak import hostile_zips

    zips = hostile_zips(_zip(tmp_path / "saved.zip", saved), tmp_path / "zips")
    assert set(zips) == {
        "clip outside the archive",
        "list-shaped itt.json",
        "zip bomb",
        "path in a folder",
        "not a zip",
    }
    reasons = {
        "clip outside the archive": "not one of the archive's own clips",
        "list-shaped itt.json": "must be a JSON object",
        "zip bomb": "larger than",
        "path in a folder": "inside a folder",
        "not a zip": "not a zip",
    }
    for kind, path in zips.items():
        dest = tmp_path / kind.replace(" ", "_")
        with pytest.raises(UserInputError, match=reasons[kind]):
            unpack_zip(path, dest)
        assert not dest.exists()
