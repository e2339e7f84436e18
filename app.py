"""Warm Chat, the Gradio app: two portraits talk, one speaks and the other listens.

UI only: builds the Blocks, wires events to ``warmchat.session``, launches.
Run ``python app.py`` (127.0.0.1:7860; GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
override it, ``--share`` passes through to Gradio).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no outside calls
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr

from warmchat.emotion import EMOTIONS
from warmchat.errors import UserInputError
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.pipeline import WarmChatPipeline
from warmchat.session import AUTO, ChatSession, send
from warmchat.tree import ITT
from warmchat.tree_view import tree_figure

PIPELINE = WarmChatPipeline()  # models load once and are shared read-only by all sessions
PIPELINE.preload()


def on_send(
    message,
    agent_img,
    user_img,
    emotion,
    intensity,
    audio,
    session: ChatSession,
    progress=gr.Progress(),  # noqa: B008 (Gradio's idiom)
):
    try:
        result, whole = send(
            PIPELINE, session, message, agent_img, user_img, emotion, intensity, audio,
            progress=lambda f, d: progress(f, desc=d),
        )  # fmt: skip
    except UserInputError as e:
        raise gr.Error(str(e)) from None
    notes = "\n".join(f"- {n}" for n in session.notices)
    return (
        session, "", None, str(result.clip), str(whole), session.messages(),
        tree_figure(session.conv.tree), notes,
    )  # fmt: skip


def on_clear(session: ChatSession):
    session.close()
    return ChatSession(), None, None, [], tree_figure(ITT()), ""


with gr.Blocks(title="Warm Chat", analytics_enabled=False) as demo:
    session = gr.State(ChatSession(), delete_callback=lambda s: s.close())
    gr.Markdown(
        "# Warm Chat\nTwo portraits hold a conversation: yours (right) says your message, "
        "the agent (left) listens, then answers while yours listens. Everything runs offline on the CPU."
    )
    with gr.Row():
        agent_img = gr.Image(str(DEFAULT_AGENT_PORTRAIT), type="filepath", label="Agent portrait", height=240)
        user_img = gr.Image(str(DEFAULT_USER_PORTRAIT), type="filepath", label="Your portrait", height=240)
        with gr.Column():
            emotion = gr.Dropdown([AUTO, *EMOTIONS], value=AUTO, label="Agent's emotion (next turn)")
            intensity = gr.Slider(0, 1, value=0.7, step=0.05, label="Intensity (when an emotion is chosen)")
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Or speak your message")
    with gr.Row():
        message = gr.Textbox(placeholder="Say something to the agent…", show_label=False, scale=5)
        send_btn = gr.Button("Send", variant="primary", scale=1)
        clear_btn = gr.Button("Clear", scale=1)
    gr.Examples(
        [
            ["I just got the job I wanted!"],
            ["I'm worried about my exam tomorrow."],
            ["This traffic is driving me crazy!"],
        ],
        inputs=[message],
    )
    notices = gr.Markdown()
    with gr.Row():
        turn_video = gr.Video(label="This turn", autoplay=True, height=300)
        whole_video = gr.Video(label="The conversation so far", height=300)
    with gr.Row():
        chat = gr.Chatbot(label="Conversation", height=380)
        tree_plot = gr.Plot(tree_figure(ITT()), label="Dialogue tree")

    inputs = [message, agent_img, user_img, emotion, intensity, audio, session]
    outputs = [session, message, audio, turn_video, whole_video, chat, tree_plot, notices]
    send_btn.click(on_send, inputs, outputs, api_name="send")
    message.submit(on_send, inputs, outputs, api_visibility="private")
    clear_btn.click(
        on_clear, [session], [session, turn_video, whole_video, chat, tree_plot, notices], api_name="clear"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Warm Chat app")
    ap.add_argument("--share", action="store_true", help="create a public Gradio link")
    args = ap.parse_args()
    demo.queue(default_concurrency_limit=1).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=args.share,
        footer_links=["api"],
    )
