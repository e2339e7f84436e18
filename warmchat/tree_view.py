"""The Interactive Talking Tree drawn as a Plotly figure.

Nodes are coloured by their dominant emotion and labelled with the speaker and a
snippet; hovering shows the whole text and the emotion distribution. The path
from the root to the current node is drawn thicker, so a branch reads at once.
"""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go

from warmchat.emotion import EMOTION_COLORS, EMOTIONS
from warmchat.tree import ITT


def _layout(tree: ITT) -> dict[str, tuple[float, float]]:
    """(x, y) per node id: leaves spread left to right in order, parents centred over children."""
    pos: dict[str, tuple[float, float]] = {}
    next_x = [0.0]

    def place(node_id: str, depth: int) -> float:
        kids = tree.node(node_id).children
        if not kids:
            x = next_x[0]
            next_x[0] += 1.0
        else:
            xs = [place(c, depth + 1) for c in kids]
            x = (min(xs) + max(xs)) / 2
        pos[node_id] = (x, -float(depth))
        return x

    place(tree.root_id, 0)
    return pos


def _snippet(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def tree_figure(tree: ITT, height: int = 420) -> go.Figure:
    """A Plotly figure of ``tree`` with the current path highlighted."""
    pos = _layout(tree)
    on_path = {n.id for n in tree.path_to_root(tree.current)}
    fig = go.Figure()
    # Edges: thin grey everywhere, thick on the current path.
    for highlight in (False, True):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for node in tree.all_nodes():
            if node.parent is None or ((node.id in on_path) != highlight):
                continue
            (x0, y0), (x1, y1) = pos[node.parent], pos[node.id]
            xs += [x0, x1, None]
            ys += [y0, y1, None]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
            line={"color": "#444" if highlight else "#bbb", "width": 4 if highlight else 1.5},
        ))  # fmt: skip
    # Nodes, one trace per emotion so the legend explains the colours.
    root = tree.root
    fig.add_trace(go.Scatter(
        x=[pos[root.id][0]], y=[pos[root.id][1]], mode="markers+text", text=["start"],
        textposition="top center", hoverinfo="skip", showlegend=False,
        marker={"size": 10, "color": "#666", "symbol": "diamond"},
    ))  # fmt: skip
    for emotion in EMOTIONS:
        nodes = [n for n in tree.all_nodes() if n.emotion.dominant == emotion]
        if not nodes:
            continue
        hover = []
        for n in nodes:
            dist = ", ".join(f"{e} {p:.0%}" for e, p in zip(EMOTIONS, n.emotion.dist) if p >= 0.05)
            body = "<br>".join(textwrap.wrap(n.text, 60))
            hover.append(
                f"<b>{n.speaker}</b> ({n.id})<br>{body}<br><i>{dist}; intensity {n.emotion.intensity:.2f}</i>"
            )
        fig.add_trace(go.Scatter(
            x=[pos[n.id][0] for n in nodes], y=[pos[n.id][1] for n in nodes],
            mode="markers+text", name=emotion,
            text=[f"{n.speaker}: {_snippet(n.text)}" for n in nodes], textposition="middle right",
            hovertext=hover, hoverinfo="text",
            marker={
                "size": [22 if n.id in on_path else 15 for n in nodes], "color": EMOTION_COLORS[emotion],
                "line": {"color": ["#111" if n.id == tree.current else "#fff" for n in nodes], "width": 2},
            },
        ))  # fmt: skip
    depth = max((-y for _, y in pos.values()), default=0)
    width = max((x for x, _ in pos.values()), default=0)
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, plot_bgcolor="white",
        title={"text": f"Dialogue tree: {len(tree)} utterances", "x": 0.01, "font": {"size": 14}},
        xaxis={"visible": False, "range": [-0.5, width + 2.5]},
        yaxis={"visible": False, "range": [-depth - 0.6, 0.6]},
        legend={"orientation": "h", "y": -0.02},
    )  # fmt: skip
    return fig
