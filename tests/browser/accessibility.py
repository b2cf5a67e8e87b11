"""axe-core in the page under test: the console must have no serious or critical
accessibility violation on any page (issue 15). axe is shipped with the tests (vendor/), so
nothing is loaded from the internet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# axe's impacts are minor, moderate, serious and critical; the two last block a resident's
# coordinator from using the page at all (no label, no contrast, no name for a button).
BLOCKING = frozenset({"serious", "critical"})


async def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now, of every impact."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=AXE)
    results: dict[str, Any] = await page.evaluate(
        "axe.run(document, {resultTypes: ['violations']})"
    )
    violations: list[dict[str, Any]] = results["violations"]
    return violations


async def assert_accessible(page: Page) -> None:
    """Fail listing every serious or critical violation, each with the elements it found."""
    blocking = [v for v in await accessibility_violations(page) if v["impact"] in BLOCKING]
    assert not blocking, f"axe on {page.url}:\n" + "\n".join(map(described, blocking))


def described(violation: dict[str, Any]) -> str:
    elements = "".join(
        f"\n    {' '.join(node['target'])}: {node['html']}" for node in violation["nodes"]
    )
    return (
        f"  {violation['impact']} {violation['id']}: {violation['help']} "
        f"({violation['helpUrl']}){elements}"
    )
