"""Warm Chat, the Gradio app: two portraits talk, one speaks and the other listens.

UI only: builds the Blocks, wires events to ``warmchat.session``, launches.
Run ``python app.py`` (127.0.0.1:7860; GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
override it, ``--share`` passes through to Gradio). A turn's video streams into
the page while it renders, with or without a system ffmpeg (``put_ffmpeg_on_path``).
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import functools
import gc
import inspect
import os
import shutil
import signal
import threading
import time
import weakref
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no outside calls
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr
from gradio.processing_utils import hash_file
from gradio.utils import get_upload_folder

from warmchat import session as S
from warmchat import storage
from warmchat.emotion import EMOTIONS
from warmchat.errors import UserInputError
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.pipeline import WarmChatPipeline
from warmchat.render.face import read_image
from warmchat.render.video import put_ffmpeg_on_path
from warmchat.speech import EspeakTTS
from warmchat.tree import ITT
from warmchat.tree_view import tree_figure

PIPELINE = WarmChatPipeline()  # models load once and are shared read-only by all sessions

# Folders left by an app that was killed (kill -9, a crash) go now; this app's own go when it stops.
for gone in storage.sweep_stale():
    print(f"Removed {gone.name}, left by an app that no longer runs.")
atexit.register(storage.remove_own)


# The models warm up (about 6 s) while Gradio builds and serves the page; a turn
# sent before they are ready waits on the same load locks, nothing loads twice.
def _warm_up() -> None:
    t = time.perf_counter()
    PIPELINE.preload()
    # warmchat.bench.load.App waits for this line (flushed: stdout may be a file).
    print(f"Models warm in {time.perf_counter() - t:.1f} s: the first turn starts at full speed.", flush=True)


threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
# Gradio's video outputs probe and mux each segment with ffmpeg and ffprobe: the wheel's
# ffmpeg, and the system's ffprobe or, where there is none, our own (warmchat.render.probe).
print(f"Video tools: ffmpeg from imageio-ffmpeg, ffprobe {put_ffmpeg_on_path()}.", flush=True)
EXAMPLE_SCRIPT = "B (happy): Guess what, I got the concert tickets!\nA (surprised): No way! How did you manage that?\nB: I queued online for two hours.\nA (happy): You are a hero. I owe you dinner."


N_VIEWS, CHAT = 7, 3  # how many outputs ``_views`` gives, and where the chat is among them


def _serve(session: S.ChatSession, path) -> str | None:
    """A file of this session to hand to Gradio, which serves a copy from its cache
    (``<cache>/<hash of the file>/<name>``): that copy is deleted with the session."""
    if path is None:
        return None
    session.served.add(Path(get_upload_folder()) / hash_file(path))
    return str(path)


def _forget_upload(path: str | None) -> None:
    """Delete an uploaded file's folder in Gradio's cache (only there: nothing else is ours)."""
    if not path:
        return
    cache, folder = Path(get_upload_folder()).resolve(), Path(path).resolve().parent
    if folder != cache and folder.is_relative_to(cache):
        shutil.rmtree(folder, ignore_errors=True)


def _portrait_input(value: str, label: str) -> gr.Image:
    """A portrait upload handed on as the very file that came (16-bit, palette, alpha: ``read_image``
    reads them the same way as the CLI does), with our own message for one that is not a picture.

    Gradio opens the upload with Pillow before our code runs; where that fails, our reader says
    why in its words. (A wrapper on this one component, not a subclass: Gradio writes a ``.pyi``
    beside every file that defines a component class.)
    """
    img = gr.Image(value, type="filepath", image_mode=None, label=label, height=220)
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


def _views(session: S.ChatSession, turn_clip=None, whole_clip=None):
    """The outputs every action refreshes, in ``views`` order."""
    turn_clip, whole_clip = _serve(session, turn_clip), _serve(session, whole_clip)
    tree = session.conv.tree if session.conv else ITT()
    notes = "\n".join(f"- {n}" for n in session.notices)
    return (session, turn_clip, whole_clip, session.messages(), tree_figure(tree), notes,
            gr.Dropdown(choices=session.node_choices(), value=S.LATEST))  # fmt: skip


def _guard(fn):
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


def _live(session: S.ChatSession, events, progress, last_clip, tail=()):
    """Show a rendering action as it happens, for outputs ``[*views, *tail, live_video]``.

    The chat (and ``tail``) as soon as a reply is written, each video segment
    as it is encoded, then every view with the complete clips, as before.
    """
    width = N_VIEWS + len(tail) + 1

    def only(changes: dict):
        return tuple(changes.get(i, gr.skip()) for i in range(width))

    for ev in events:
        if ev.kind == "progress":
            progress(ev.value[0], desc=ev.value[1])
        elif ev.kind == "reply":
            yield only({CHAT: ev.value, **{N_VIEWS + i: v for i, v in enumerate(tail)}})
        elif ev.kind == "segment":
            yield only({width - 1: str(ev.value.path)})
        elif ev.kind == "done":
            done, whole = ev.value
            yield (*_views(session, str(last_clip(done)), str(whole)), *tail, gr.skip())


# Which session belongs to which browser tab, only so that closing the tab can
# delete that session's files at once (the state itself lives in gr.State).
_OPEN: weakref.WeakValueDictionary[str, S.ChatSession] = weakref.WeakValueDictionary()


def _track(session: S.ChatSession, request: gr.Request | None) -> None:
    if request is not None and request.session_hash:
        _OPEN[request.session_hash] = session


def on_unload(request: gr.Request):
    """The visitor left: delete their conversation's files now, not when the state expires."""
    gone = _OPEN.pop(request.session_hash, None)
    if gone is not None:
        gone.close()
        _release_memory()


def _release_memory() -> None:
    """Hand freed memory back to the system: glibc keeps a grown heap otherwise."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _settings(agent_voice, user_voice, liveliness, strength, seed) -> S.Settings:
    """The visitor's settings, checked (``Settings.check``) before anything uses them."""
    num = lambda v, default: default if v is None else v  # noqa: E731 - an empty box is the default
    return S.Settings(agent_voice, user_voice, num(liveliness, 1.0), num(strength, 1.0), num(seed, 0)).check()


@_guard
def on_send(
    message,
    agent_img,
    user_img,
    emotion,
    intensity,
    audio,
    continue_from,
    agent_voice,
    user_voice,
    liveliness,
    strength,
    seed,
    session,
    request: gr.Request,
    progress=gr.Progress(),
):
    _track(session, request)
    st = _settings(agent_voice, user_voice, liveliness, strength, seed)
    events = S.send_live(
        PIPELINE, session, message, agent_img, user_img, emotion, intensity, audio, st, continue_from
    )
    yield from _live(session, events, progress, lambda r: r.clip, tail=("", None))


@_guard
def on_regenerate(
    emotion,
    intensity,
    agent_voice,
    user_voice,
    liveliness,
    strength,
    seed,
    session,
    request: gr.Request,
    progress=gr.Progress(),
):
    _track(session, request)
    st = _settings(agent_voice, user_voice, liveliness, strength, seed)
    events = S.regenerate_live(PIPELINE, session, emotion, intensity, st)
    yield from _live(session, events, progress, lambda r: r.clip)


@_guard
def on_switch(node_id, session):
    whole = S.switch(PIPELINE, session, node_id)
    return _views(session, None, str(whole) if whole else None)


@_guard
def on_agents(
    agent_img,
    user_img,
    opening,
    turns,
    agent_voice,
    user_voice,
    liveliness,
    strength,
    seed,
    session,
    request: gr.Request,
    progress=gr.Progress(),
):
    _track(session, request)
    st = _settings(agent_voice, user_voice, liveliness, strength, seed)
    events = S.agents_talk_live(PIPELINE, session, agent_img, user_img, opening, turns, st)
    yield from _live(session, events, progress, lambda rs: rs[-1].clip)


@_guard
def on_replay(
    agent_img,
    user_img,
    script,
    agent_voice,
    user_voice,
    liveliness,
    strength,
    seed,
    session,
    request: gr.Request,
    progress=gr.Progress(),
):
    _track(session, request)
    st = _settings(agent_voice, user_voice, liveliness, strength, seed)
    events = S.replay_live(PIPELINE, session, agent_img, user_img, script, st)
    yield from _live(session, events, progress, lambda clips: clips[-1])


@_guard
def on_export(session):
    return _serve(session, S.export(session))


@_guard
def on_load(zip_file, session, request: gr.Request):
    _track(session, request)
    try:
        whole, (agent_png, user_png) = S.load(PIPELINE, session, zip_file)
    finally:  # the upload has done its work, loaded or refused: it leaves nothing behind
        _forget_upload(zip_file)
    views = _views(session, None, str(whole) if whole else None)
    return (*views, _serve(session, agent_png), _serve(session, user_png))


@_guard
def on_portrait(img):
    S.trace_portraits(PIPELINE, img)


def on_status() -> str:
    """What runs each stage here (``WarmChatPipeline.status``), with the reason for any fallback."""
    return "\n".join(f"- **{stage}**: {what}" for stage, what in PIPELINE.status().items())


def on_clear(session: S.ChatSession):
    session.close()
    return (*_views(S.ChatSession()), None)  # the live video empties too


# Gradio's own cache of served files is swept every 10 minutes of anything older than an hour.
with gr.Blocks(title="Warm Chat", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
    # A session idle for an hour is dropped, and its files with it.
    session = gr.State(S.ChatSession(), time_to_live=3600, delete_callback=lambda s: s.close())
    demo.unload(on_unload)
    gr.Markdown(
        "# Warm Chat\nTwo portraits hold a conversation: yours (right) says your message while the agent (left) "
        "listens, then the agent answers while yours listens. A tree of emotions steers both faces. "
        "Everything runs offline on the CPU."
    )
    with gr.Row():
        agent_img = _portrait_input(str(DEFAULT_AGENT_PORTRAIT), "Agent portrait (left)")
        user_img = _portrait_input(str(DEFAULT_USER_PORTRAIT), "Your portrait (right)")
        with gr.Column():
            # Plays the turn while it renders (segments streamed in); the complete clip follows below.
            live_video = gr.Video(
                label="This turn, as it renders", streaming=True, autoplay=True, height=260,
                elem_id="live-video",
            )  # fmt: skip
    notices = gr.Markdown()
    with gr.Tabs():
        with gr.Tab("Talk to the avatar"):
            with gr.Row():
                message = gr.Textbox(
                    placeholder="Say something to the agent…", show_label=False, scale=5, max_length=2000
                )
                send_btn = gr.Button("Send", variant="primary", scale=1)
            with gr.Row():
                emotion = gr.Dropdown([S.AUTO, *EMOTIONS], value=S.AUTO, label="Agent's emotion (next reply)")
                intensity = gr.Slider(
                    0, 1, value=0.7, step=0.05, label="Intensity (when an emotion is chosen)"
                )
                audio = gr.Audio(
                    sources=["upload", "microphone"], type="filepath", label="Or speak your message"
                )
            gr.Examples(
                [
                    ["I just got the job I wanted!"],
                    ["I'm worried about my exam tomorrow."],
                    ["This traffic is driving me crazy!"],
                ],
                inputs=[message],
            )
        with gr.Tab("Let two avatars talk"):
            with gr.Row():
                opening = gr.Textbox(
                    label="First line of the right avatar (empty: it picks a topic)", scale=4
                )
                turns = gr.Slider(1, 6, value=3, step=1, label="Turns", scale=1)
                agents_btn = gr.Button("Talk", variant="primary", scale=1)
        with gr.Tab("Replay a script"):
            script = gr.Textbox(
                EXAMPLE_SCRIPT,
                lines=5,
                label="Script: 'A: …' is the agent (left), 'B (happy 0.8): …' the user (right)",
            )
            replay_btn = gr.Button("Replay", variant="primary")
        with gr.Tab("Settings"):
            with gr.Row():
                agent_voice = gr.Dropdown(
                    EspeakTTS.voices(), value=PIPELINE.cfg.agent_voice, label="Agent's voice"
                )
                user_voice = gr.Dropdown(
                    EspeakTTS.voices(), value=PIPELINE.cfg.user_voice, label="Your avatar's voice"
                )
                liveliness = gr.Slider(0, 2, value=1.0, step=0.1, label="Head-motion liveliness")
                strength = gr.Slider(0, 2, value=1.0, step=0.1, label="Expression strength")
                seed = gr.Number(0, precision=0, minimum=0, maximum=S.MAX_SEED, label="Seed")
        with gr.Tab("Save / load"):
            with gr.Row():
                export_btn = gr.Button("Save the conversation (.zip)")
                export_file = gr.File(label="Download")
                load_file = gr.File(
                    label="Load a saved conversation (.zip)", file_types=[".zip"], type="filepath"
                )
                load_btn = gr.Button("Load")
    with gr.Row():
        with gr.Column():
            chat = gr.Chatbot(label="The conversation (current branch)", height=360)
            with gr.Row():
                turn_video = gr.Video(label="Latest turn (complete clip)", height=260, elem_id="turn-video")
                whole_video = gr.Video(label="The whole conversation so far", height=260)
        with gr.Column():
            tree_plot = gr.Plot(tree_figure(ITT()), label="Dialogue tree")
            with gr.Row():
                continue_from = gr.Dropdown(
                    [("the latest reply (current branch)", S.LATEST)],
                    value=S.LATEST,
                    label="Continue from (pick a node to branch)",
                    scale=3,
                )
                switch_btn = gr.Button("Show this branch", scale=1)
                regen_btn = gr.Button("Regenerate the reply", scale=1)
                clear_btn = gr.Button("Clear", scale=1)

    with gr.Accordion("What runs here", open=False):
        backends = gr.Markdown()
    demo.load(on_status, None, backends, api_name="status")

    styling = [agent_voice, user_voice, liveliness, strength, seed]
    views = [session, turn_video, whole_video, chat, tree_plot, notices, continue_from]
    send_inputs = [message, agent_img, user_img, emotion, intensity, audio, continue_from, *styling, session]
    # Rendering actions stream: the live video is their last output, so API clients
    # find the outputs they had before at the same places.
    # Progress shows on the box the visitor just used, not over the video that is playing.
    send_outputs = [*views, message, audio, live_video]
    send_btn.click(on_send, send_inputs, send_outputs, api_name="send", show_progress_on=message)
    message.submit(on_send, send_inputs, send_outputs, api_visibility="private", show_progress_on=message)
    regen_btn.click(
        on_regenerate,
        [emotion, intensity, *styling, session],
        [*views, live_video],
        api_name="regenerate",
        show_progress_on=tree_plot,
    )
    switch_btn.click(on_switch, [continue_from, session], views, api_name="switch")
    agents_btn.click(
        on_agents,
        [agent_img, user_img, opening, turns, *styling, session],
        [*views, live_video],
        api_name="agents",
        show_progress_on=opening,
    )
    replay_btn.click(
        on_replay,
        [agent_img, user_img, script, *styling, session],
        [*views, live_video],
        api_name="replay",
        show_progress_on=script,
    )
    export_btn.click(on_export, [session], [export_file], api_name="export")
    load_btn.click(on_load, [load_file, session], [*views, agent_img, user_img], api_name="load")
    clear_btn.click(on_clear, [session], [*views, live_video], api_name="clear")
    # A new portrait is traced while the visitor types, not after they press Send.
    for img in (agent_img, user_img):
        img.upload(on_portrait, [img], None, api_visibility="private", show_progress="hidden")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Warm Chat app")
    ap.add_argument("--share", action="store_true", help="create a public Gradio link")
    args = ap.parse_args()

    def _stop(signum, frame):  # SIGTERM stops the server as Ctrl-C does, and atexit then cleans up
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    # One turn at a time per CPU core keeps each turn faster than real time.
    demo.queue(default_concurrency_limit=max(1, (os.cpu_count() or 2) // 2), max_size=64).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=args.share,
        footer_links=["api"],
        max_file_size="50mb",
        show_error=True,  # e.g. an upload that is not an image fails in Gradio's own preprocessing: say so
    )
