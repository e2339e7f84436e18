"""Paths resolved from the package, never from the working directory."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
ASSETS_DIR = REPO_DIR / "assets"
PORTRAITS_DIR = ASSETS_DIR / "portraits"

# Default portraits (provenance in assets/PROVENANCE.md).
DEFAULT_AGENT_PORTRAIT = PORTRAITS_DIR / "astronaut.png"
DEFAULT_USER_PORTRAIT = PORTRAITS_DIR / "monalisa.png"
