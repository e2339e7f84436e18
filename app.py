"""Warm Chat, the Gradio app: two portraits talk, one speaks and the other listens.

UI only: builds the Blocks, wires events to ``warmchat.session`` (Gradio glue in ``warmchat.ui``),
launches. ``python app.py`` serves 127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT override
it, ``--share`` passes through to Gradio). A turn's video streams into the page while it renders.
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import threading
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no outside calls
os.environ.setdefault("HF_HUB_OFFLINE", "1")
if os.environ.get("SPACES_ZERO_GPU"):
    import spaces  # noqa: F401  (ZeroGPU wants it imported before torch)

import gradio as gr

from warmchat import session as S
from warmchat import storage, ui
from warmchat.config import from_env as config_from_env
from warmchat.emotion import EMOTIONS
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.pipeline import WarmChatPipeline
from warmchat.render.video import put_ffmpeg_on_path
from warmchat.speech import TTS
from warmchat.tree import ITT
from warmchat.tree_view import tree_figure

PIPELINE = WarmChatPipeline(config_from_env())  # models load once and are shared read-only by all sessions

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


def _views(session: S.ChatSession, turn_clip=None, whole_clip=None) -> dict:
    """What every action refreshes: the session, both clips, the chat, the tree, the notices, the nodes."""
    tree = session.conv.tree if session.conv else ITT()
    return {
        state: session,
        turn_video: ui.serve(session, turn_clip),
        whole_video: ui.serve(session, whole_clip),
        chat: session.messages(),
        tree_plot: tree_figure(tree),
        notices: "\n".join(f"- {n}" for n in session.notices),
        continue_from: gr.Dropdown(choices=session.node_choices(), value=S.LATEST),
    }


def _settings(agent_voice, user_voice, liveliness, strength, seed) -> S.Settings:
    """The visitor's settings, built once per action and checked (``Settings.check``) before use."""
    num = lambda v, default: default if v is None else v  # noqa: E731 - an empty box is the default
    return S.Settings(agent_voice, user_voice, num(liveliness, 1.0), num(strength, 1.0), num(seed, 0)).check()


def _live(session: S.ChatSession, action, args, progress, last_clip, on_reply: dict | None = None):
    """Show a rendering action (``session.stream``) as it happens: the chat (and ``on_reply``) once the
    reply is written, each video segment as it is encoded, then every view with the complete clips."""
    for ev in S.stream(action, PIPELINE, session, *args):
        if ev.kind == "progress":
            progress(ev.value[0], desc=ev.value[1])
        elif ev.kind == "reply":
            yield {chat: ev.value, **(on_reply or {})}
        elif ev.kind == "segment":
            yield {live_video: str(ev.value.path)}
        elif ev.kind == "done":
            done, whole = ev.value
            yield {**_views(session, str(last_clip(done)), str(whole)), **(on_reply or {})}


@ui.guard
def on_send(message, agent_img, user_img, emotion, intensity, audio, continue_from, agent_voice, user_voice,
            liveliness, strength, seed, session, request: gr.Request, oauth_token: gr.OAuthToken | None,
            progress=gr.Progress()):  # fmt: skip
    ui.track(session, request)
    S.sign_in(PIPELINE, session, oauth_token.token if oauth_token else None)  # on a Space: the visitor's LLM
    st = _settings(agent_voice, user_voice, liveliness, strength, seed)
    args = (message, agent_img, user_img, emotion, intensity, audio, st, continue_from)
    yield from _live(
        session, S.send, args, progress, lambda r: r.clip, on_reply={message_box: "", audio_in: None}
    )


@ui.guard
def on_regenerate(emotion, intensity, agent_voice, user_voice, liveliness, strength, seed, session,
                  request: gr.Request, progress=gr.Progress()):  # fmt: skip
    ui.track(session, request)
    st = _settings(agent_voice, user_voice, liveliness, strength, seed)
    yield from _live(session, S.regenerate, (emotion, intensity, st), progress, lambda r: r.clip)


@ui.guard
def on_switch(node_id, session):
    whole = S.switch(PIPELINE, session, node_id)
    return _views(session, None, str(whole) if whole else None)


@ui.guard
def on_agents(agent_img, user_img, opening, turns, agent_voice, user_voice, liveliness, strength, seed, session,
              request: gr.Request, progress=gr.Progress()):  # fmt: skip
    ui.track(session, request)
    st = _settings(agent_voice, user_voice, liveliness, strength, seed)
    yield from _live(
        session, S.agents_talk, (agent_img, user_img, opening, turns, st), progress, lambda rs: rs[-1].clip
    )


@ui.guard
def on_replay(agent_img, user_img, script, agent_voice, user_voice, liveliness, strength, seed, session,
              request: gr.Request, progress=gr.Progress()):  # fmt: skip
    ui.track(session, request)
    st = _settings(agent_voice, user_voice, liveliness, strength, seed)
    yield from _live(session, S.replay, (agent_img, user_img, script, st), progress, lambda clips: clips[-1])


@ui.guard
def on_export(session):
    return ui.serve(session, S.export(session))


@ui.guard
def on_load(zip_file, session, request: gr.Request):
    ui.track(session, request)
    try:
        whole, (agent_png, user_png) = S.load(PIPELINE, session, zip_file)
    finally:  # the upload has done its work, loaded or refused: it leaves nothing behind
        ui.forget_upload(zip_file)
    views = _views(session, None, str(whole) if whole else None)
    return {**views, agent_img: ui.serve(session, agent_png), user_img: ui.serve(session, user_png)}


@ui.guard
def on_portrait(img):
    S.trace_portraits(PIPELINE, img)


def on_status() -> str:
    """What runs each stage here (``WarmChatPipeline.status``), with the reason for any fallback."""
    return "\n".join(f"- **{stage}**: {what}" for stage, what in PIPELINE.status().items())


def on_clear(session: S.ChatSession):
    session.close()
    return {**_views(S.ChatSession()), live_video: None}  # the live video empties too


# Gradio's own cache of served files is swept every 10 minutes of anything older than an hour.
with gr.Blocks(title="Warm Chat", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
    # A session idle for an hour is dropped, and its files with it.
    state = gr.State(S.ChatSession(), time_to_live=3600, delete_callback=lambda s: s.close())
    demo.unload(ui.on_unload)
    gr.Markdown(
        "# Warm Chat\nTwo portraits hold a conversation: yours (right) says your message while the agent (left) "
        "listens, then the agent answers while yours listens. A tree of emotions steers both faces. "
        "Everything runs offline on the CPU."
    )
    notices = gr.Markdown()
    # The call: the live view in the middle, big enough to see both faces, what to say under it,
    # the chat beside it (below it on a phone: a column narrower than min_width wraps).
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=340):
            # Plays the turn while it renders (segments streamed in); the complete clip is further down.
            live_video = gr.Video(label="Live: this turn, as it renders", streaming=True, autoplay=True, height=420,
                                  elem_id="live-video")  # fmt: skip
            with gr.Row():
                message_box = gr.Textbox(placeholder="Say something to the agent…", show_label=False, scale=5,
                                         max_length=2000, min_width=200)  # fmt: skip
                send_btn = gr.Button("Send", variant="primary", scale=1, min_width=80)
            gr.Examples([["I just got the job I wanted!"], ["I'm worried about my exam tomorrow."],
                         ["This traffic is driving me crazy!"]], inputs=[message_box])  # fmt: skip
            with gr.Row():
                emotion = gr.Dropdown([S.AUTO, *EMOTIONS], value=S.AUTO, label="Agent's emotion (next reply)")
                intensity = gr.Slider(
                    0, 1, value=0.7, step=0.05, label="Intensity (when an emotion is chosen)"
                )
        with gr.Column(scale=2, min_width=300):
            chat = gr.Chatbot(label="The conversation (current branch)", height=420, elem_id="chat")
            audio_in = gr.Audio(
                sources=["upload", "microphone"], type="filepath", label="Or speak your message"
            )
    with gr.Tabs():
        with gr.Tab("Portraits"):
            with gr.Row():
                agent_img = ui.portrait_input(
                    str(DEFAULT_AGENT_PORTRAIT), "Agent portrait (left)", "agent-portrait"
                )
                user_img = ui.portrait_input(
                    str(DEFAULT_USER_PORTRAIT), "Your portrait (right)", "user-portrait"
                )
        with gr.Tab("Let two avatars talk"):
            with gr.Row():
                opening = gr.Textbox(
                    label="First line of the right avatar (empty: it picks a topic)", scale=4
                )
                turns = gr.Slider(1, 6, value=3, step=1, label="Turns", scale=1)
                agents_btn = gr.Button("Talk", variant="primary", scale=1)
        with gr.Tab("Replay a script"):
            script = gr.Textbox(EXAMPLE_SCRIPT, lines=5,
                                label="Script: 'A: …' is the agent (left), 'B (happy 0.8): …' the user (right)")  # fmt: skip
            replay_btn = gr.Button("Replay", variant="primary")
        with gr.Tab("Settings"):
            with gr.Row():
                agent_voice = gr.Dropdown(TTS.voices(), value=PIPELINE.cfg.agent_voice, label="Agent's voice")
                user_voice = gr.Dropdown(TTS.voices(), value=PIPELINE.cfg.user_voice,
                                         label="Your avatar's voice")  # fmt: skip
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
    with gr.Row(equal_height=False):
        with gr.Column(min_width=340):
            tree_plot = gr.Plot(tree_figure(ITT()), label="Dialogue tree")
            with gr.Row():
                continue_from = gr.Dropdown([("the latest reply (current branch)", S.LATEST)], value=S.LATEST,
                                            label="Continue from (pick a node to branch)", scale=3)  # fmt: skip
                switch_btn = gr.Button("Show this branch", scale=1)
                regen_btn = gr.Button("Regenerate the reply", scale=1)
                clear_btn = gr.Button("Clear", scale=1)
        with gr.Column(min_width=340):
            with gr.Row():
                turn_video = gr.Video(label="Latest turn (complete clip)", height=260, elem_id="turn-video")
                whole_video = gr.Video(label="The whole conversation so far", height=260)
    with gr.Accordion("What runs here", open=False):
        backends = gr.Markdown()
        if gr.utils.get_space():  # on a Space (elsewhere Gradio's mocked sign-in needs a logged-in Hub)
            gr.LoginButton("Sign in with Hugging Face for replies from an LLM")
    demo.load(on_status, None, backends, api_name="status")

    styling = [agent_voice, user_voice, liveliness, strength, seed]
    views = [state, turn_video, whole_video, chat, tree_plot, notices, continue_from]
    send_inputs = [
        message_box,
        agent_img,
        user_img,
        emotion,
        intensity,
        audio_in,
        continue_from,
        *styling,
        state,
    ]
    # Rendering actions stream: the live video is their last output, so API clients
    # find the outputs they had before at the same places.
    # Progress shows on the box the visitor just used, not over the video that is playing.
    send_outputs = [*views, message_box, audio_in, live_video]
    send_btn.click(on_send, send_inputs, send_outputs, api_name="send", show_progress_on=message_box)
    message_box.submit(
        on_send, send_inputs, send_outputs, api_visibility="private", show_progress_on=message_box
    )
    regen_btn.click(on_regenerate, [emotion, intensity, *styling, state], [*views, live_video], api_name="regenerate",
                    show_progress_on=tree_plot)  # fmt: skip
    switch_btn.click(on_switch, [continue_from, state], views, api_name="switch")
    agents_btn.click(on_agents, [agent_img, user_img, opening, turns, *styling, state], [*views, live_video],
                     api_name="agents", show_progress_on=opening)  # fmt: skip
    replay_btn.click(on_replay, [agent_img, user_img, script, *styling, state], [*views, live_video],
                     api_name="replay", show_progress_on=script)  # fmt: skip
    export_btn.click(on_export, [state], [export_file], api_name="export")
    load_btn.click(on_load, [load_file, state], [*views, agent_img, user_img], api_name="load")
    clear_btn.click(on_clear, [state], [*views, live_video], api_name="clear")
    # A new portrait is traced while the visitor types, not after they press Send.
    for img in (agent_img, user_img):
        img.upload(on_portrait, [img], None, api_visibility="private", show_progress="hidden")


# On a phone the live view is as tall as the video at the screen's width (the 2:1 side-by-side
# clip), not the laptop's 420 px box with bands above and below it.
PAGE_CSS = """@media (max-width: 640px) {
  #live-video { height: auto !important; }
  #live-video .wrap, #live-video .mirror-wrap, #live-video video { height: auto !important; }
}"""

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
        css=PAGE_CSS,
        max_file_size="50mb",
        show_error=True,  # e.g. an upload that is not an image fails in Gradio's own preprocessing: say so
    )
