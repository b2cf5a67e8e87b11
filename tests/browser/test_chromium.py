"""Which Chromium the browser tests launch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.chromium import chromium_path


def test_handinhand_chromium_names_the_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDINHAND_CHROMIUM", "/opt/chromium/chrome")
    assert chromium_path() == Path("/opt/chromium/chrome")


def test_without_it_the_browser_is_found_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HANDINHAND_CHROMIUM", raising=False)
    browser = tmp_path / "chromium-browser"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert chromium_path() == browser


def test_no_chromium_anywhere_is_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HANDINHAND_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("chromium") is None
    assert chromium_path() is None
