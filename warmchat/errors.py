"""Errors caused by what a user gave us.

Every ``UserInputError`` carries one sentence that says what was wrong and how to
fix it. The CLI prints it on one line and exits with status 2; the app shows it
in the UI. Anything else is a bug and keeps its traceback.
"""


class UserInputError(ValueError):
    """Bad input from the user: the message says what was wrong and how to fix it."""


class PortraitError(UserInputError):
    """The portrait cannot be used (not an image, no face, face too small, ...)."""


class AudioInputError(UserInputError):
    """The audio cannot be used (not audio, corrupt, silent, too long, ...)."""


class TextInputError(UserInputError):
    """The text cannot be used (empty, ...)."""
