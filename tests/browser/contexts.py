"""A browser profile for a test, kept on this machine: a request for anything but a local
address is refused and, like an uncaught script error, recorded as a fault of the test."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, Route

from tests.browser.faults import OUTSIDE, Faults


async def open_context(
    browser: Browser, faults: Faults, user_agent: str | None = None
) -> BrowserContext:
    """A fresh profile (no cookie, no storage) in Vietnamese, the console's default; a
    `user_agent` of its own tells two of a test's browsers apart."""
    # bypass_csp: axe is injected as an inline script, which a strict Content-Security-Policy
    # refuses; nothing the page itself does needs the bypass.
    made = await browser.new_context(locale="vi-VN", bypass_csp=True, user_agent=user_agent)

    async def refuse(route: Route) -> None:
        faults.outside_requests.append(route.request.url)
        await route.abort("blockedbyclient")

    await made.route(OUTSIDE, refuse)
    made.on("weberror", lambda error: faults.script_errors.append(str(error.error)))
    return made
