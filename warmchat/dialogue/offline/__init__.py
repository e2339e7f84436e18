"""The offline dialogue engine: template replies that stay on topic, no network, no model.

``engine`` runs a reply (its docstring has the steps); ``compose`` builds the
sentences from the wording in ``templates.json``; ``topics`` finds what a message
is about and recognises the engine's own templates; ``policy`` maps the other
speaker's emotion to how the agent feels back.
"""

from warmchat.dialogue.offline.engine import OfflineEngine, TextClassifier, opening_line

__all__ = ["OfflineEngine", "TextClassifier", "opening_line"]
