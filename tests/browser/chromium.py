"""Which Chromium the browser tests drive: Debian's package (or one named by
HANDINHAND_CHROMIUM), never a browser build Playwright downloads, which this machine and CI
cannot fetch."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

NAMES = ("chromium", "chromium-browser")


def chromium_path() -> Path | None:
    """The browser to launch, or None where this machine has none (the tests are deselected).
    A HANDINHAND_CHROMIUM that names no program is a mistake to report, not a reason to
    deselect: the launch then fails and says so."""
    named = os.environ.get("HANDINHAND_CHROMIUM")
    if named:
        return Path(named)
    for name in NAMES:
        found = shutil.which(name)
        if found is not None:
            return Path(found)
    return None
