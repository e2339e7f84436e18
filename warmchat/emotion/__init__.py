"""Emotions: the value type every module reads, and the offline text classifier.

``state`` holds the emotion set and ``EmotionState`` (light: numpy only);
``lexicon`` the cue words (data in ``data/lexicon.json``) and the evidence they
give; ``classifier`` the sentence-embedding classifier (prototypes in
``data/prototypes.json``) that falls back to the lexicon alone.
"""

from warmchat.emotion.classifier import (
    CLASSIFIER_METHODS,
    PROTOTYPES,
    ClassifierConfig,
    TextEmotionClassifier,
)
from warmchat.emotion.lexicon import LexiconEvidence, lexicon_evidence
from warmchat.emotion.state import (
    EMOTION_COLORS,
    EMOTIONS,
    N_EMOTIONS,
    EmotionState,
    agrees,
    check_emotion_name,
    check_intensity,
    distressed,
    mix,
    one_hot_vector,
    valence,
)

__all__ = [
    "CLASSIFIER_METHODS",
    "EMOTIONS",
    "EMOTION_COLORS",
    "N_EMOTIONS",
    "PROTOTYPES",
    "ClassifierConfig",
    "EmotionState",
    "LexiconEvidence",
    "TextEmotionClassifier",
    "agrees",
    "check_emotion_name",
    "check_intensity",
    "distressed",
    "lexicon_evidence",
    "mix",
    "one_hot_vector",
    "valence",
]  # fmt: skip
