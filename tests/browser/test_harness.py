"""The browser harness itself: axe fails a page for what blocks its users and only for that,
screenshots come at the phone's and the PC's widths, and a page that reaches off this machine
or throws is caught."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page

from tests.browser.accessibility import accessibility_violations, assert_accessible
from tests.browser.faults import Faults
from tests.browser.screenshots import WIDTHS, save_screenshots

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LABELLED = """<!doctype html>
<html lang="vi"><head><title>Cuối tuần này</title></head>
<body>
  <header><nav aria-label="Chính"><a href="#tuan">Cuối tuần này</a></nav></header>
  <main id="tuan">
    <h1>Cuối tuần này</h1>
    <p>Thiếu 1 người biết tiếng H'Mông.</p>
    <form>
      <label for="phone">Số điện thoại</label>
      <input id="phone" name="phone" type="tel" autocomplete="tel">
      <button type="submit">Gửi mã</button>
    </form>
  </main>
</body></html>
"""

BROKEN = """<!doctype html>
<html lang="vi"><head><title>Hỏng</title></head>
<body><main>
  <h1>Hỏng</h1>
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
  <input name="phone" type="tel">
  <button type="submit"></button>
  <p style="color:#bbb;background:#fff">Chữ quá nhạt</p>
</main></body></html>
"""

# Content outside every landmark: axe calls it moderate ("region"), which does not block.
MODERATE_ONLY = """<!doctype html>
<html lang="vi"><head><title>Trang</title></head>
<body><main><h1>Trang</h1></main><p>Ngoài mọi vùng.</p></body></html>
"""


async def test_a_labelled_page_with_landmarks_passes(page: Page) -> None:
    await page.set_content(LABELLED)
    await assert_accessible(page)


async def test_every_serious_or_critical_violation_is_listed(page: Page) -> None:
    await page.set_content(BROKEN)
    with pytest.raises(AssertionError) as failure:
        await assert_accessible(page)
    message = str(failure.value)
    for rule in ("image-alt", "label", "button-name", "color-contrast"):
        assert rule in message
    assert "<img" in message  # the element itself, to find it in the template


async def test_a_moderate_violation_does_not_fail_the_page(page: Page) -> None:
    await page.set_content(MODERATE_ONLY)
    impacts = {v["id"]: v["impact"] for v in await accessibility_violations(page)}
    assert impacts.get("region") == "moderate"
    await assert_accessible(page)


async def test_screenshots_are_saved_at_the_phone_and_pc_widths(page: Page, tmp_path: Path) -> None:
    await page.set_content(LABELLED)
    saved = await save_screenshots(page, "cuoi-tuan", tmp_path / "console")
    assert [p.name for p in saved] == ["cuoi-tuan-360.png", "cuoi-tuan-1280.png"]
    assert [png_width(p) for p in saved] == list(WIDTHS)


def png_width(path: Path) -> int:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    (width,) = struct.unpack(">I", header[16:20])
    return int(width)


async def test_a_request_off_this_machine_is_refused_and_kept_as_a_fault(
    page: Page, faults: Faults
) -> None:
    await page.set_content('<script src="https://cdn.example.org/htmx.min.js"></script>')
    assert await page.evaluate("typeof window.htmx") == "undefined"
    assert faults.outside_requests == ["https://cdn.example.org/htmx.min.js"]
    faults.outside_requests.clear()  # seen: this test expects it


async def test_an_uncaught_script_error_is_kept_as_a_fault(
    context: BrowserContext, page: Page, faults: Faults
) -> None:
    async with context.expect_event("weberror"):
        await page.set_content("<script>throw new Error('trang hỏng')</script>")
    assert len(faults.script_errors) == 1
    assert "trang hỏng" in faults.script_errors[0]
    faults.script_errors.clear()
