"""Warm Chat: an emotion-aware, interactive talking-head avatar that runs offline on a CPU.

The data flow of one conversation turn (see ``warmchat.pipeline``)::

    message -> dialogue -> reply + emotion -> ITT node
    ITT -> reverse-level traversal -> cumulative emotion (speaker, listener)
    reply -> TTS -> speech (+ phoneme timings)
    speech -> speaker expression track;  emotion -> LEED listener track
    head motion for both -> renderer -> side-by-side mp4
"""

__version__ = "0.1.0"
