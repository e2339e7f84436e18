"""Paths resolved from the package, never from the working directory."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
ASSETS_DIR = REPO_DIR / "assets"
PORTRAITS_DIR = ASSETS_DIR / "portraits"

# Default portraits (provenance in assets/PROVENANCE.md).
DEFAULT_AGENT_PORTRAIT = PORTRAITS_DIR / "astronaut.png"
DEFAULT_USER_PORTRAIT = PORTRAITS_DIR / "monalisa.png"

# The project's shared data beside the checkout (../shared/data): real videos of
# people talking, for training and benchmarks only; never needed at run time.
SHARED_VIDEOS = REPO_DIR.parent / "shared" / "data" / "head-motion"
