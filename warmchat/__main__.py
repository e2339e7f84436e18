"""``python -m warmchat``: see ``warmchat.cli``."""

import sys

from warmchat.cli import main

sys.exit(main())
