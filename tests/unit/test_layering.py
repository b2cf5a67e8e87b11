"""The architecture holds: shared/ never imports a service, and domain code does no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
IO_LIBRARIES = (
    "sqlalchemy",
    "nats",
    "litestar",
    "httpx",
    "asyncpg",
    "aiosqlite",
    "uvicorn",
    "asyncio",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_shared_never_imports_a_service_or_the_tests() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in {"services", "tests", "bench"}
        )
        for path in (ROOT / "shared").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("service", ["scheduler", "volunteers", "notifications"])
def test_domain_code_imports_no_io_library(service: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in IO_LIBRARIES
        )
        for path in (ROOT / "services" / service / "domain").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
