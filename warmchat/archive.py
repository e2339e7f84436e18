"""Saved conversations are untrusted input: check a whole archive before anything is used.

A saved conversation is a flat folder (or a zip of one, from the app's Save):
``conversation.json`` (avatars, personas, voices, settings), ``itt.json`` (the
tree), the two cropped portraits ``agent.png`` / ``user.png``, the clips
``turn_NNN.mp4`` and the user's recordings ``user_NNN.wav``. Anything a visitor
uploads may have been written by hand, so before a byte is copied or the
current conversation changes:

1. the entries: flat names of those kinds only, no links, at most
   ``max_entries``, each under its kind's size limit, all together under
   ``max_total_bytes`` (a zip is unpacked by streaming, counting the bytes that
   really come out, so a zip bomb stops at the limit whatever its header says);
2. ``conversation.json``: its schema, every field's type and range;
3. ``itt.json``: a consistent tree (``ITT.from_dict``), texts and sizes bounded,
   every ``clip_path`` / ``audio_path`` one of the archive's own files (an
   absolute path or ``..`` is refused), every saved face state of the right length;
4. the portraits: PNG files that open.

Every refusal is a ``UserInputError`` that names the archive's entry, never a
server path. ``unpack_zip`` removes what it wrote when it refuses.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from warmchat.errors import UserInputError
from warmchat.limits import MAX_SEED

CONVERSATION_FILE = "conversation.json"
TREE_FILE = "itt.json"
PORTRAITS = ("agent.png", "user.png")
REQUIRED = (CONVERSATION_FILE, TREE_FILE, *PORTRAITS)
_CLIP = re.compile(r"turn_\d{3,5}\.mp4")
_RECORDING = re.compile(r"user_\d{3,5}\.wav")


@dataclass(frozen=True)
class ArchiveLimits:
    """What a saved conversation may hold (a real one is far inside every limit)."""

    max_entries: int = 400  # files in the archive: 4 + a clip and a recording per turn
    max_total_bytes: int = 400 * 2**20  # all files unpacked together
    max_json_bytes: int = 4 * 2**20  # conversation.json, itt.json
    max_png_bytes: int = 8 * 2**20  # a 512 x 512 portrait is ~0.5 MB
    max_clip_bytes: int = 64 * 2**20  # one turn's mp4 (~1 MB per 10 s)
    max_wav_bytes: int = 8 * 2**20  # a 30 s recording at 22 kHz is 1.3 MB
    max_nodes: int = 2000  # utterances in the tree
    max_text_chars: int = 10_000  # one utterance's text
    max_turn: int = 10_000  # clips rendered so far


LIMITS = ArchiveLimits()


def _kind_limit(name: str, limits: ArchiveLimits) -> int | None:
    """The size limit of an entry by its name, or None when a saved conversation has no such file."""
    if name in (CONVERSATION_FILE, TREE_FILE):
        return limits.max_json_bytes
    if name in PORTRAITS:
        return limits.max_png_bytes
    if _CLIP.fullmatch(name):
        return limits.max_clip_bytes
    if _RECORDING.fullmatch(name):
        return limits.max_wav_bytes
    return None


def _check_name(name: str, what: str, limits: ArchiveLimits) -> int:
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise UserInputError(
            f"{what} holds {name[:80]!r}, which is inside a folder: a saved conversation is a flat "
            "zip of its files (save it again from the app)."
        )
    limit = _kind_limit(name, limits)
    if limit is None:
        raise UserInputError(
            f"{what} holds {name[:80]!r}, which a saved conversation never has: load a zip the app saved."
        )
    return limit


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _too_big(what: str, name: str, limit: int) -> UserInputError:
    return UserInputError(
        f"{name} in {what} is larger than {limit // 2**20} MB: that is not a saved conversation."
    )


def unpack_zip(zip_path: str | Path, dest: Path, limits: ArchiveLimits = LIMITS) -> Path:
    """Unpack a saved conversation's zip into the new, empty folder ``dest``; returns ``dest``.

    Checks every entry (step 1 above) before and while it is written; on any
    refusal ``dest`` is removed again, so nothing is left on disk.
    """
    p = Path(zip_path)
    what = "the zip"
    dest.mkdir(parents=True, exist_ok=False)
    try:
        try:
            z = zipfile.ZipFile(p)
        except (zipfile.BadZipFile, OSError):
            raise UserInputError("That file is not a zip: choose the .zip the app saved.") from None
        with z:
            infos = [i for i in z.infolist() if not i.is_dir()]
            if len(infos) > limits.max_entries:
                raise UserInputError(
                    f"The zip holds {len(infos)} files, more than a saved conversation "
                    f"({limits.max_entries} at most): load a zip the app saved."
                )
            seen: set[str] = set()
            for info in infos:
                limit = _check_name(info.filename, what, limits)
                if info.filename in seen:
                    raise UserInputError(f"The zip holds {info.filename} twice: save the conversation again.")
                seen.add(info.filename)
                if info.flag_bits & 0x1:
                    raise UserInputError(
                        f"{info.filename} in the zip is encrypted: save it again without a password."
                    )
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise UserInputError(f"{info.filename} in the zip is a link, not a file: save it again.")
                if info.file_size > limit:
                    raise _too_big(what, info.filename, limit)
            total = 0
            for info in infos:
                limit = _kind_limit(info.filename, limits) or 0
                written = 0
                # Streamed, counting what really comes out: a header can lie about sizes.
                try:
                    with z.open(info) as src, open(dest / info.filename, "xb") as out:
                        while chunk := src.read(1 << 20):
                            written += len(chunk)
                            total += len(chunk)
                            if written > limit:
                                raise _too_big(what, info.filename, limit)
                            if total > limits.max_total_bytes:
                                raise UserInputError(
                                    f"The zip unpacks to more than {limits.max_total_bytes // 2**20} MB: "
                                    "that is not a saved conversation."
                                )
                            out.write(chunk)
                except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError):
                    raise UserInputError(
                        f"{info.filename} in the zip cannot be unpacked (the zip is damaged): save it again."
                    ) from None
        check_saved(dest, limits, what)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


def _read_json(folder: Path, name: str, what: str, limit: int) -> Any:
    f = folder / name
    if f.stat().st_size > limit:
        raise _too_big(what, name, limit)
    try:
        return json.loads(f.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserInputError(f"{name} in {what} is not valid JSON: save the conversation again.") from None
    except RecursionError:
        raise UserInputError(f"{name} in {what} is nested too deeply to be a saved conversation.") from None


_JSON_NAMES = {dict: "JSON object", list: "list", int: "whole number", float: "number", str: "text",
               bool: "true or false", type(None): "null"}  # fmt: skip


def _field(d: Any, key: str, kind, where: str, lo=None, hi=None, required=True):
    """``d[key]`` checked against a type and a range; UserInputError naming the field."""
    if not isinstance(d, dict):
        raise UserInputError(f"{where} must be a JSON object: save the conversation again.")
    if key not in d:
        if required:
            raise UserInputError(f"{where} has no {key!r}: save the conversation again.")
        return None
    v = d[key]
    ok = isinstance(v, kind) and not (isinstance(v, bool) and kind is not bool)
    if ok and isinstance(v, (int, float)) and not isinstance(v, bool):
        ok = math.isfinite(v) and (lo is None or v >= lo) and (hi is None or v <= hi)
    if ok and isinstance(v, str) and hi is not None:
        ok = len(v) <= hi
    if not ok:
        rng = f" between {lo} and {hi}" if lo is not None and not isinstance(v, str) else ""
        kinds = kind if isinstance(kind, tuple) else (kind,)
        kinds = tuple(k for k in kinds if not (k is int and float in kinds))  # "a number", not "whole or not"
        name = " or ".join(dict.fromkeys(_JSON_NAMES.get(k, k.__name__) for k in kinds))
        raise UserInputError(f"{where}: {key!r} must be a {name}{rng}; save the conversation again.")
    return v


def check_conversation_meta(meta: Any, what: str = "the saved conversation") -> dict:
    """Step 2: ``conversation.json``'s schema; returns it. Voices are checked when the avatars are made."""
    from warmchat.dialogue.base import Persona

    where = f"{CONVERSATION_FILE} in {what}"
    if _field(meta, "format", str, where) != "warmchat.conversation":
        raise UserInputError(f"{where} is not a Warm Chat conversation: load a zip the app saved.")
    _field(meta, "version", int, where, 1, 1)
    _field(meta, "turn", int, where, 0, LIMITS.max_turn, required=False)
    settings = _field(meta, "settings", dict, where, required=False) or {}
    s_where = f"{where}, settings"
    _field(settings, "seed", int, s_where, 0, MAX_SEED, required=False)
    _field(settings, "liveliness", (int, float), s_where, 0.0, 2.0, required=False)
    _field(settings, "expression_strength", (int, float), s_where, 0.0, 2.0, required=False)
    unknown = set(settings) - {"seed", "liveliness", "expression_strength"}
    if unknown:
        raise UserInputError(
            f"{s_where} has unknown fields {sorted(unknown)[:3]}: save the conversation again."
        )
    for side in ("agent", "user"):
        m = _field(meta, side, dict, where)
        w = f"{where}, {side}"
        _field(m, "name", str, w, hi=80)
        _field(m, "voice", str, w, hi=80)
        persona = _field(m, "persona", dict, w)
        allowed = {f.name for f in fields(Persona)}
        if set(persona) - allowed:
            raise UserInputError(f"{w}: the persona has unknown fields: save the conversation again.")
        for k in persona:
            _field(persona, k, str, f"{w}, persona", hi=500)
    return meta


def check_tree(d: Any, names: set[str], limits: ArchiveLimits = LIMITS, what: str = "the saved conversation"):
    """Step 3: ``itt.json`` as a tree; returns the ``ITT``. ``names`` are the archive's files."""
    from warmchat.motion.tracks import K
    from warmchat.tree import ITT

    where = f"{TREE_FILE} in {what}"
    nodes = _field(d, "nodes", list, where)
    if len(nodes) > limits.max_nodes:
        raise UserInputError(f"{where} has {len(nodes)} utterances, more than {limits.max_nodes}.")
    for i, nd in enumerate(nodes):
        w = f"{where}, node {i}"
        _field(nd, "text", str, w, hi=limits.max_text_chars)
        _field(nd, "speaker", str, w, hi=80)
        for key, pattern in (("clip_path", _CLIP), ("audio_path", _RECORDING)):
            ref = _field(nd, key, (str, type(None)), w, required=False)
            if ref is not None and (not pattern.fullmatch(ref) or ref not in names):
                raise UserInputError(
                    f"{w} names the file {ref[:80]!r}, which is not one of the archive's own "
                    f"{'clips' if key == 'clip_path' else 'recordings'}: save the conversation again."
                )
        meta = _field(nd, "meta", dict, w, required=False) or {}
        end = meta.get("end_state")
        if end is not None:
            for side in ("agent", "user"):
                st = _field(end, side, dict, f"{w}, end_state")
                for key, n in (("expression", K), ("pose", 6)):
                    v = _field(st, key, list, f"{w}, end_state")
                    if len(v) != n or not all(
                        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                        for x in v
                    ):
                        raise UserInputError(
                            f"{w}: a saved face state is damaged; save the conversation again."
                        )
    try:
        return ITT.from_dict(d)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        raise UserInputError(
            f"{where} is not a consistent dialogue tree: save the conversation again."
        ) from None


def check_saved(folder: Path, limits: ArchiveLimits = LIMITS, what: str | None = None):
    """Steps 1-4 on a folder; returns (conversation meta, tree, the saved files' names).

    Nothing is copied or changed; files that a saved conversation never has are left out of the names.
    """
    from PIL import Image, UnidentifiedImageError

    what = what or f"the folder {folder.name!r}"
    if not folder.is_dir():
        raise UserInputError(
            f"{_cap(what)} is not a saved conversation (no such folder): pass the folder `chat` or the app wrote."
        )
    entries = list(folder.iterdir())
    files = {e.name: e for e in entries if e.is_file() and not e.is_symlink()}
    missing = [n for n in REQUIRED if n not in files]
    if missing:
        raise UserInputError(
            f"{_cap(what)} is not a saved conversation (missing {', '.join(missing)}): "
            "pick the folder `chat` or the app wrote."
        )
    saved = {n: f for n, f in files.items() if _kind_limit(n, limits) is not None}
    if len(saved) > limits.max_entries:
        raise UserInputError(f"{_cap(what)} holds more than {limits.max_entries} conversation files.")
    total = 0
    for n, f in saved.items():
        size = f.stat().st_size
        total += size
        if size > (_kind_limit(n, limits) or 0):
            raise _too_big(what, n, _kind_limit(n, limits) or 0)
    if total > limits.max_total_bytes:
        raise UserInputError(f"{_cap(what)} holds more than {limits.max_total_bytes // 2**20} MB.")
    meta = check_conversation_meta(_read_json(folder, CONVERSATION_FILE, what, limits.max_json_bytes), what)
    tree = check_tree(_read_json(folder, TREE_FILE, what, limits.max_json_bytes), set(saved), limits, what)
    for n in PORTRAITS:
        try:
            with Image.open(files[n]) as im:
                if im.format != "PNG" or im.width * im.height > 4096 * 4096:
                    raise UserInputError(
                        f"{n} in {what} is not a saved portrait: save the conversation again."
                    )
                im.verify()
        except (UnidentifiedImageError, OSError, SyntaxError):
            raise UserInputError(
                f"{n} in {what} is not a readable PNG: save the conversation again."
            ) from None
    return meta, tree, sorted(saved)
