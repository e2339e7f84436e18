"""Command line: ``python -m warmchat say|chat ...`` (SPEC section 3).

User mistakes (a missing file, no face, empty text, ...) end with exit status 2
and one line on stderr saying what to fix; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from warmchat.emotion import EMOTIONS, EmotionState, check_emotion_name, check_intensity
from warmchat.errors import UserInputError
from warmchat.limits import MAX_SEED

MAX_TURNS = 20  # one `chat` run; a longer conversation continues with --resume


def _whole_number(x: str) -> int:
    try:
        return int(x)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{x!r} is not a whole number") from None


def _positive_int(x: str) -> int:
    v = _whole_number(x)
    if v < 1:
        raise argparse.ArgumentTypeError(f"{x!r} must be at least 1")
    return v


def _turns(x: str) -> int:
    v = _positive_int(x)
    if v > MAX_TURNS:
        raise argparse.ArgumentTypeError(
            f"{x!r} is more than {MAX_TURNS} turns: run at most {MAX_TURNS}, then continue with --resume"
        )
    return v


def _seed(x: str) -> int:
    v = _whole_number(x)
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{x!r} is not between 0 and {MAX_SEED}")
    return v


# OSErrors whose reason helps the user; others (ENOENT from /proc, say) read as noise.
_TOLD_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG}


def _why(e: OSError) -> str:
    """`` (reason)`` for an OSError worth explaining, in words (no errno numbers, no reprs), else ''."""
    if e.errno in _TOLD_ERRNOS and e.strerror:
        return f" ({e.strerror.rstrip('.').lower()})"
    return ""


def _probe_writable(folder: Path, option: str, name: str) -> None:
    """Create and delete a temporary file in ``folder``; UserInputError when that fails."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".warmchat-probe-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise UserInputError(
            f"{option} {name!r}: cannot write in the folder {str(folder)!r}{_why(e)}:"
            " choose a folder you can write to."
        ) from None


def _probe_folder(folder: Path, option: str, name: str, fix: str) -> None:
    """Check that files can be written in ``folder``, creating it (and its parents) to try.

    Folders created only for the probe are removed again, so a mistake found later
    (a bad portrait, say) leaves nothing behind; the pipeline creates them for real.
    """
    if folder.exists() and not folder.is_dir():
        raise UserInputError(f"{option} {name!r}: {str(folder)!r} is a file, not a folder: {fix}.")
    missing = [f for f in (folder, *folder.parents) if not f.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserInputError(
            f"{option} {name!r}: cannot create the folder {str(folder)!r}{_why(e)}:"
            " choose a folder you can write to."
        ) from None
    try:
        _probe_writable(folder, option, name)
    finally:
        for f in missing:  # deepest first
            try:
                f.rmdir()
            except OSError:
                break


def _check_out_dir(name: str, option: str = "--out-dir") -> Path:
    """``name`` is (or can become) a folder we can write in: checked before any work."""
    _probe_folder(Path(name), option, name, "name a folder (it is created if missing)")
    return Path(name)


def _check_out_file(name: str, option: str = "--out") -> Path:
    """The file ``name`` can be written (its folder created if missing): checked before any work."""
    out = Path(name)
    if out.is_dir():
        raise UserInputError(f"{option} {name!r} is a folder: name the file to write, ending in .mp4.")
    _probe_folder(out.parent, option, name, "choose another path for the video")
    return out


def _add_speaker(parser: argparse.ArgumentParser) -> None:
    from warmchat.motion.speaker import SPEAKERS

    parser.add_argument(
        "--speaker",
        choices=SPEAKERS,
        default=SPEAKERS[0],
        help="what moves the lips: the learned audio-to-expression model (default) "
        "or the hand-made viseme rules",
    )
    # The voices: "heart" and "joe" are neural (English), the rest eSpeak NG names ("en-us+f3").
    parser.add_argument("--agent-voice", help="voice of the agent (left; `say`'s avatar): heart, joe (neural) "
                        "or an eSpeak name such as en-us+f3 (default heart)")  # fmt: skip
    parser.add_argument("--user-voice", help="voice of the user's avatar (right; default joe)")
    parser.add_argument(
        "--renderer",
        choices=("warp", "diffusion"),
        default="warp",
        help="warp (the CPU mesh warp, default) or diffusion (needs a GPU and the two weights below; "
        "else it falls back to warp and says why)",
    )
    parser.add_argument(
        "--diffusion-model", help="Stable Diffusion 1.5 weights: a folder or a hub id already cached"
    )
    parser.add_argument(
        "--controlnet",
        help="a face-mesh ControlNet for SD 1.5: a folder, or a hub id such as "
        "CrucibleAI/ControlNetMediaPipeFace (with --controlnet-subfolder diffusion_sd15)",
    )
    parser.add_argument("--controlnet-subfolder", help="where in --controlnet its SD 1.5 weights sit")


def _config(args):
    """The pipeline's config from the options every rendering command shares."""
    from warmchat.config import PipelineConfig
    from warmchat.render.diffusion import DiffusionConfig

    voices = {k: v for k, v in (("agent_voice", args.agent_voice), ("user_voice", args.user_voice)) if v}
    diffusion = DiffusionConfig(model=args.diffusion_model, controlnet=args.controlnet,
                                controlnet_subfolder=args.controlnet_subfolder)  # fmt: skip
    return PipelineConfig(
        seed=args.seed, speaker=args.speaker, renderer=args.renderer, diffusion=diffusion, **voices
    )


def _pipeline(args):
    """The pipeline for a rendering command; a diffusion renderer that cannot run says why, once."""
    from warmchat.pipeline import WarmChatPipeline

    pipe = WarmChatPipeline(_config(args))
    if pipe.renderers.fallback:
        print(f"note: renderer: {pipe.renderers.fallback}", file=sys.stderr)
    return pipe


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m warmchat", description="Warm Chat: emotion-aware talking heads, offline."
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log every step")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("say", help="render one avatar speaking a text or an audio file")
    s.add_argument("--portrait", required=True, help="image with one clear face (PNG, JPEG, WebP)")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="what to say (spoken with eSpeak NG)")
    src.add_argument("--audio", help="speech to lip-sync (wav, mp3, ogg, flac, m4a, ...)")
    s.add_argument("--emotion", default="neutral", help=f"one of: {', '.join(EMOTIONS)} (default neutral)")
    s.add_argument("--intensity", default="0.7", help="emotion intensity between 0 and 1 (default 0.7)")
    s.add_argument("--seed", type=_seed, default=0, help="random seed for blinks and head motion")
    s.add_argument("--out", required=True, help="output mp4 path")
    _add_speaker(s)

    c = sub.add_parser("chat", help="run a conversation between two portraits, offline")
    c.add_argument("--agent", help="portrait of the agent (left)")
    c.add_argument("--user", help="portrait of the user (right)")
    c.add_argument(
        "--message", help="the user's first message; without it the second persona opens (agent <-> agent)"
    )
    c.add_argument(
        "--audio",
        help="the user's first message as a recording (wav, mp3, ...): transcribed, and spoken as it is",
    )
    c.add_argument("--resume", help="a folder written by an earlier `chat` (or saved by the app) to continue")
    c.add_argument(
        "--turns",
        type=_turns,
        default=1,
        help=f"turns to run (1-{MAX_TURNS}); later user lines come from a second persona",
    )
    c.add_argument("--seed", type=_seed, default=0, help="random seed")
    c.add_argument("--out-dir", required=True, help="folder for turn clips, conversation.mp4 and itt.json")
    _add_speaker(c)

    r = sub.add_parser(
        "replay", help="render a scripted conversation (lines 'A: ...' / 'B (happy): ...' or JSON)"
    )
    r.add_argument("--script", required=True, help="script file (.txt or .json)")
    r.add_argument("--agent", required=True, help="portrait of A, the agent (left)")
    r.add_argument("--user", required=True, help="portrait of B, the user (right)")
    r.add_argument("--seed", type=_seed, default=0, help="random seed")
    r.add_argument("--out-dir", required=True, help="folder for clips, conversation.mp4 and itt.json")
    _add_speaker(r)

    b = sub.add_parser("bench", help="measure speed and quality on fixed inputs")
    b.add_argument("--quick", action="store_true", help="a shorter run (under 3 minutes on 2 cores)")
    b.add_argument("--json", help="write every figure to this JSON file")
    b.add_argument(
        "--record", action="store_true", help="append the headline figures to docs/bench_history.jsonl"
    )
    b.add_argument(
        "--sections",
        help="comma-separated subset: speed,lipsync,identity,emotion,motion,head,text_emotion,ears,voice,dialogue,live,faces (live starts the app and sends 6 messages, faces takes ~7 min; --quick leaves both out unless named)",
    )
    return p


def _bench(args) -> int:
    import json

    from warmchat.bench.run import SECTIONS, headline, record, run, table

    sections = tuple(s.strip() for s in args.sections.split(",")) if args.sections else SECTIONS
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise UserInputError(
            f"Unknown bench section(s) {', '.join(sorted(unknown))}: use {', '.join(SECTIONS)}."
        )
    result = run(quick=args.quick, sections=sections, log=lambda m: print(m, file=sys.stderr))
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
    if args.record:
        record(result)
    print(json.dumps(headline(result)), file=sys.stderr)
    return 0


def _say(args) -> int:
    emotion = EmotionState.of(check_emotion_name(args.emotion), check_intensity(args.intensity))
    out = Path(args.out)
    if out.suffix.lower() != ".mp4":
        raise UserInputError(f"--out {args.out!r} must end in .mp4.")
    _check_out_file(args.out)  # before any model loads
    pipe = _pipeline(args)
    t = time.perf_counter()
    pipe.say(args.portrait, out, text=args.text, audio=args.audio, emotion=emotion, seed=args.seed)
    print(f"wrote {out} in {time.perf_counter() - t:.1f} s")
    return 0


def _chat(args) -> int:
    from warmchat.pipeline import check_message

    if args.resume is None and not (args.agent and args.user):
        raise UserInputError(
            "chat needs --agent and --user portraits (or --resume FOLDER to continue a conversation)."
        )
    if args.message is not None:
        check_message(args.message, 10_000)  # fail fast, before loading anything
    if args.audio is not None and not Path(args.audio).is_file():
        raise UserInputError(
            f"--audio {args.audio!r} not found: pass a recording (wav, mp3, ogg, flac, m4a)."
        )
    if args.resume is not None and not Path(args.resume).is_dir():
        raise UserInputError(
            f"--resume {args.resume!r} is not a folder: pass the folder an earlier `chat` (or the app) wrote."
        )
    out = _check_out_dir(args.out_dir)
    pipe = _pipeline(args)
    if args.resume:
        conv = pipe.load_conversation(args.resume, work_dir=out)
        print(f"resumed {args.resume}: {len(conv.tree)} utterances, continuing in {out}")
    else:
        conv = pipe.new_conversation(args.agent, args.user, work_dir=out)
    for n in conv.notices:
        print(f"note: {n}")
    message, audio, feeling = args.message, args.audio, None
    for i in range(args.turns):
        if i > 0 or (message is None and audio is None):
            (message, feeling, notice), audio = pipe.next_user_message(conv), None
            if notice:
                print(f"note: {notice}")
        r = pipe.run_turn(conv, message, user_audio=audio, user_emotion=feeling)
        for n in r.notices:
            print(f"note: {n}")
        print(f"turn {conv.turn}: {conv.user.name} ({r.user_node.emotion}): {r.user_node.text}")
        print(f"        {conv.agent.name} ({r.agent_node.emotion}): {r.agent_node.text}")
        print(f"        -> {r.clip} ({r.duration_s:.1f} s of video in {r.timings['total']:.1f} s)")
    joined = pipe.join(conv, out / "conversation.mp4")
    print(f"wrote {joined} and {out / 'itt.json'}")
    return 0


def _replay(args) -> int:
    from warmchat.hooks import Progress
    from warmchat.script import parse_script

    lines = parse_script(Path(args.script)) if Path(args.script).suffix else parse_script(args.script)
    out = _check_out_dir(args.out_dir)
    pipe = _pipeline(args)
    conv = pipe.new_conversation(args.agent, args.user, work_dir=out)
    clips = pipe.replay(conv, lines, Progress(lambda f, d: d.startswith("Rendered") and print(f"  {d}")))
    joined = pipe.join(conv, out / "conversation.mp4")
    print(f"wrote {len(clips)} clips, {joined} and {out / 'itt.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return {"say": _say, "chat": _chat, "replay": _replay, "bench": _bench}[args.command](args)
    except UserInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
