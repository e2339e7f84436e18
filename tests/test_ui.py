"""The Gradio glue (warmchat/ui.py), without a server: what it deletes, what it turns into messages."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from gradio.utils import get_upload_folder

from warmchat import ui
from warmchat.errors import TextInputError


def test_forget_upload_deletes_only_inside_gradios_upload_cache(tmp_path):
    cache = Path(get_upload_folder())
    mine = cache / "warmchat-test-upload"
    mine.mkdir(parents=True, exist_ok=True)
    (mine / "saved.zip").write_bytes(b"zip")
    ui.forget_upload(str(mine / "saved.zip"))
    assert not mine.exists()  # the upload's own folder went
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "saved.zip").write_bytes(b"zip")
    ui.forget_upload(str(outside / "saved.zip"))  # a path outside the cache: left alone
    ui.forget_upload(str(cache / "x" / ".." / ".." / "etc" / "passwd"))  # climbs out: left alone
    ui.forget_upload(None)
    assert (outside / "saved.zip").exists() and cache.is_dir()


def test_guard_turns_a_user_mistake_into_a_message_and_lets_bugs_through():
    @ui.guard
    def refuse(x):
        raise TextInputError(f"The message is empty: {x}")

    @ui.guard
    def stream(x):
        yield 1
        raise TextInputError("no more")

    with pytest.raises(gr.Error, match="The message is empty: hi"):
        refuse("hi")
    gen = stream(0)
    assert next(gen) == 1
    with pytest.raises(gr.Error, match="no more"):
        next(gen)

    @ui.guard
    def bug():
        raise KeyError("a bug is not the visitor's mistake")

    with pytest.raises(KeyError):
        bug()
