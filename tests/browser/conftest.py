"""One Chromium per pytest worker, a fresh context (cookies, storage) per test.

The browser and everything a browser test awaits share the session's event loop
(`loop_scope="session"`): Playwright's objects belong to the loop that made them. Each test
module marks itself `pytest.mark.asyncio(loop_scope="session")` for that reason. Where no
Chromium is found, tests/conftest.py deselects the `browser` tests and says so in the header.

Every context is kept on this machine: a request for anything but a local address is refused,
and, like an uncaught script error, fails the test (the console ships HTMX and its charts; it
must load nothing from the internet).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from bench.system import System
from shared.settings import Database
from tests.browser.chromium import chromium_path
from tests.browser.contexts import open_context
from tests.browser.faults import Faults
from tests.support.services import SECRET


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium, launched once for this worker."""
    executable = chromium_path()
    assert executable is not None, "browser tests run only where Chromium is found"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def faults() -> AsyncIterator[Faults]:
    """This test's faults; any left at its end fail it."""
    found = Faults()
    yield found
    assert not found.report(), "the pages went wrong:\n" + found.report()


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser, faults: Faults) -> AsyncIterator[BrowserContext]:
    """A new browser profile for one test: no cookie or session leaks into the next."""
    made = await open_context(browser, faults)
    yield made
    await made.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(context: BrowserContext) -> Page:
    """A tab in this test's own context (closed with it)."""
    return await context.new_page()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    """The whole system with the console, one process per service, as `handinhand up` runs
    it; on SQLite (the storage is the end-to-end tests' business, not the pages')."""
    root = tmp_path_factory.mktemp("system")
    running = System(
        root, Database(url=f"sqlite:///{root / 'unused.db'}", schema="main"), secret=SECRET
    )
    await running.start_all()
    yield running
    await running.stop()
