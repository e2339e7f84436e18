"""Gradio glue for ``app.py``: files handed to Gradio and taken back, errors, tabs that close.

``app.py`` builds the page and wires events; what has to know Gradio's internals
(its file cache, its ``Image`` component's preprocessing, its error type, its
per-tab session hash) is here, so the app reads as the page it builds.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import inspect
import shutil
import weakref
from pathlib import Path

import gradio as gr
from gradio.processing_utils import hash_file
from gradio.utils import get_upload_folder

from warmchat import session as S
from warmchat.errors import UserInputError
from warmchat.render.face import read_image


def serve(session: S.ChatSession, path) -> str | None:
    """A file of this session to hand to Gradio, which serves a copy from its cache
    (``<cache>/<hash of the file>/<name>``): that copy is deleted with the session."""
    if path is None:
        return None
    session.served.add(Path(get_upload_folder()) / hash_file(path))
    return str(path)


def forget_upload(path: str | None) -> None:
    """Delete an uploaded file's folder in Gradio's cache (only there: nothing else is ours)."""
    if not path:
        return
    cache, folder = Path(get_upload_folder()).resolve(), Path(path).resolve().parent
    if folder != cache and folder.is_relative_to(cache):
        shutil.rmtree(folder, ignore_errors=True)


def portrait_input(value: str, label: str, elem_id: str | None = None, height: int = 220) -> gr.Image:
    """A portrait upload handed on as the very file that came (16-bit, palette, alpha: ``read_image``
    reads them the same way as the CLI does), with our own message for one that is not a picture.

    Gradio opens the upload with Pillow before our code runs; where that fails, our reader says
    why in its words. (A wrapper on this one component, not a subclass: Gradio writes a ``.pyi``
    beside every file that defines a component class.)
    """
    img = gr.Image(value, type="filepath", image_mode=None, label=label, height=height, elem_id=elem_id)
    gradio_preprocess = img.preprocess

    def preprocess(payload):
        try:
            return gradio_preprocess(payload)
        except (OSError, ValueError, SyntaxError):
            try:
                read_image(payload.path)
            except UserInputError as e:
                raise gr.Error(str(e)) from None
            raise

    img.preprocess = preprocess
    return img


def guard(fn):
    """Run an action; a user mistake becomes a readable message and changes nothing."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)  # keeps the signature: Gradio injects progress from it
        def stream(*args, **kw):
            try:
                yield from fn(*args, **kw)
            except UserInputError as e:
                raise gr.Error(str(e)) from None

        return stream

    @functools.wraps(fn)  # as above
    def run(*args, **kw):
        try:
            return fn(*args, **kw)
        except UserInputError as e:
            raise gr.Error(str(e)) from None

    return run


# Which session belongs to which browser tab, only so that closing the tab can
# delete that session's files at once (the state itself lives in gr.State).
_OPEN: weakref.WeakValueDictionary[str, S.ChatSession] = weakref.WeakValueDictionary()


def track(session: S.ChatSession, request: gr.Request | None) -> None:
    """Remember which tab this session belongs to (see ``on_unload``)."""
    if request is not None and request.session_hash:
        _OPEN[request.session_hash] = session


def on_unload(request: gr.Request):
    """The visitor left: delete their conversation's files now, not when the state expires."""
    gone = _OPEN.pop(request.session_hash, None)
    if gone is not None:
        gone.close()
        release_memory()


def release_memory() -> None:
    """Hand freed memory back to the system: glibc keeps a grown heap otherwise."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass
