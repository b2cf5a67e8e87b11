"""Screenshots of the console's pages as a phone and an office PC show them, saved by the
browser tests into docs/console/ where docs/console.md shows them."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page

DOCS = Path(__file__).parents[2] / "docs" / "console"
# A 360-px-wide phone (the smallest screen) and an office PC.
WIDTHS = (360, 1280)
HEIGHT = 800


async def save_screenshots(page: Page, name: str, directory: Path = DOCS) -> list[Path]:
    """The whole page at each width, as <name>-360.png and <name>-1280.png; the viewport is
    left at the widest (Playwright makes the directory)."""
    # the pointer is left where the test last clicked: off every button, so no hover shows
    await page.mouse.move(0, 0)
    saved = []
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": HEIGHT})
        path = directory / f"{name}-{width}.png"
        await page.screenshot(path=path, full_page=True, animations="disabled")
        saved.append(path)
    return saved
