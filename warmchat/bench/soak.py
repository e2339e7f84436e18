"""A soak of mixed actions, hostile ones among them, by several visitors at once, against the real app.

    python -m warmchat.bench.soak [--visitors 4] [--actions 100] [--json OUT.json]

starts ``python app.py`` on a free 127.0.0.1 port; each visitor (one
gradio_client session) sends messages, loads hostile archives (a clip path
outside the archive, a zip bomb, broken JSON, a file that is not a zip),
exports, clears and regenerates in a seeded random order, and every answer is
checked against what should have happened. At the end every visitor sends one
more message (a session that cannot is *wedged*), leaves, and the app's temp
dir is measured against where it started. Bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

from warmchat.bench.load import App, client_downloads, run_visitors
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT

ACTIONS = ("send", "bad_load", "export", "clear", "regenerate")
WEIGHTS = (0.35, 0.25, 0.15, 0.1, 0.15)


def hostile_zips(saved_zip: Path, out: Path) -> dict[str, Path]:
    """Archives a visitor might craft from a real saved one: each must be refused, nothing kept."""
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(saved_zip) as z:
        files = {n: z.read(n) for n in z.namelist()}
    tree = json.loads(files["itt.json"])

    def write(name: str, entries: dict[str, bytes]) -> Path:
        with zipfile.ZipFile(out / name, "w", zipfile.ZIP_DEFLATED) as z:
            for n, data in entries.items():
                z.writestr(n, data)
        return out / name

    outside = json.loads(json.dumps(tree))
    outside["nodes"][-1]["clip_path"] = "/etc/passwd"
    zips = {
        "clip outside the archive": write("outside.zip", {**files, "itt.json": json.dumps(outside).encode()}),
        "list-shaped itt.json": write("list.zip", {**files, "itt.json": b"[]"}),
        "zip bomb": write("bomb.zip", {**files, "turn_099.mp4": bytes(80 << 20)}),
        "path in a folder": write("folder.zip", {"conv/" + n: d for n, d in files.items()}),
    }
    (out / "note.zip").write_text("this is not a zip")
    zips["not a zip"] = out / "note.zip"
    return zips


def run_soak(app: App, visitors: int = 4, actions: int = 100, deadline_s: float = 900, seed: int = 0) -> dict:
    """``actions`` mixed actions shared among ``visitors`` concurrent sessions; returns the figures."""
    from gradio_client import Client, handle_file

    agent, user = handle_file(str(DEFAULT_AGENT_PORTRAIT)), handle_file(str(DEFAULT_USER_PORTRAIT))
    send_args = dict(agent_img=agent, user_img=user, audio=None, api_name="/send")
    problems: list[str] = []
    counts = dict.fromkeys((*ACTIONS, "wedged"), 0)
    lock = threading.Lock()
    start_disk = app.disk_bytes()
    dirs_before = len(app.session_dirs())  # other visitors' (a shared test app has had some)
    # The clients' downloads and the crafted archives: gone after, with gradio_client's scratch folders.
    with client_downloads() as downloads:
        work = Path(downloads)
        # A real saved conversation to craft the hostile archives from.
        first = Client(app.url, verbose=False, download_files=downloads)
        first.predict(message="Hello, nice to meet you.", **send_args)
        zips = hostile_zips(Path(first.predict(api_name="/export")), work / "zips")
        first.close()
        clients = [Client(app.url, verbose=False, download_files=downloads) for _ in range(visitors)]
        t_end = time.time() + deadline_s

        def visitor(k: int, client) -> None:
            rng = np.random.default_rng([seed, k])
            chat = 0  # messages this visitor should see
            for i in range(actions // visitors + (k < actions % visitors)):
                if time.time() > t_end:
                    with lock:
                        problems.append(f"visitor {k}: out of time at action {i}")
                    return
                act = str(rng.choice(ACTIONS, p=WEIGHTS))
                with lock:
                    counts[act] += 1
                try:
                    if act == "send":
                        out = client.predict(message=f"Visitor {k}, message {i}: I like tea.", **send_args)
                        chat += 2
                        got = len(out[2])
                    elif act == "bad_load":
                        kind = list(zips)[int(rng.integers(len(zips)))]
                        try:
                            client.predict(zip_file=handle_file(str(zips[kind])), api_name="/load")
                            problems.append(f"visitor {k}: the {kind} was loaded")
                        except Exception:  # refused, as it should be: the conversation must be intact
                            pass
                        got = len(client.predict(node_id="latest", api_name="/switch")[2]) if chat else 0
                    elif act == "export":
                        if chat:
                            assert Path(client.predict(api_name="/export")).stat().st_size > 10_000
                        got = chat
                    elif act == "clear":
                        got, chat = len(client.predict(api_name="/clear")[2]), 0
                    else:  # regenerate: a new reply on the same path, or a clear refusal before any turn
                        if chat:
                            got = len(
                                client.predict(emotion="auto", intensity=0.7, api_name="/regenerate")[2]
                            )
                        else:
                            got = 0
                    if got != chat:
                        with lock:
                            problems.append(
                                f"visitor {k} action {i} ({act}): {got} messages, expected {chat}"
                            )
                        chat = got
                except Exception as e:
                    with lock:
                        problems.append(f"visitor {k} action {i} ({act}): {type(e).__name__}: {str(e)[:200]}")
            try:  # not wedged: one more message goes through
                out = client.predict(message="One last thing: thank you!", **send_args)
                if len(out[2]) != chat + 2:
                    raise RuntimeError(f"{len(out[2])} messages after the last send, expected {chat + 2}")
            except Exception as e:
                with lock:
                    problems.append(f"visitor {k} is wedged: {type(e).__name__}: {str(e)[:200]}")
                    counts["wedged"] += 1

        wall = run_visitors(visitor, clients, deadline_s + 120)
        for c in clients:
            c.close()
        for _ in range(60):  # sessions are deleted when their visitors disconnect
            if len(app.session_dirs()) <= dirs_before:
                break
            time.sleep(1)
        time.sleep(2)
    end_disk = app.disk_bytes()
    return {
        "visitors": visitors,
        "actions": sum(counts[k] for k in ACTIONS),
        "by_action": {k: counts[k] for k in ACTIONS},
        "wedged_sessions": counts["wedged"],
        "wall_s": round(wall, 1),
        "disk_start_mb": round(start_disk / 2**20, 1),
        "disk_end_mb": round(end_disk / 2**20, 1),
        "disk_change_mb": round((end_disk - start_disk) / 2**20, 2),
        "session_dirs_before": dirs_before,
        "session_dirs_after": len(app.session_dirs()),
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visitors", type=int, default=4)
    ap.add_argument("--actions", type=int, default=100)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    app = App()
    try:
        result = run_soak(app, args.visitors, args.actions)
    finally:
        app.stop()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0 if not result["problems"] and result["disk_change_mb"] <= 10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
