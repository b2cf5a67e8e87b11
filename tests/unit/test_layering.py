"""The architecture holds, as an allow-list over the import graph: every import of every module
(relative ones resolved) must be one its layer may make.

- services/<svc>/domain/** imports only pure standard-library modules, its own domain package,
  the pure shared modules and the pure third-party libraries listed below: no I/O.
- the pure shared modules import only what domain code may (minus the services).
- shared/** never imports a service, the tests or the benchmarks.
- a service never imports another service (services.cli and services.demo compose them).
- tests may import anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]

# Standard-library modules that do no I/O of their own (no asyncio, socket, os, subprocess…).
PURE_STDLIB = frozenset(
    {
        "__future__",
        "abc",
        "bisect",
        "calendar",
        "collections",
        "copy",
        "csv",  # parses text handed to it; files are opened at the edges
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "fractions",
        "functools",
        "hashlib",
        "heapq",
        "hmac",  # keyed hashes: computation on the values handed to it
        "io",  # in-memory text buffers for csv
        "itertools",
        "math",
        "operator",
        "re",
        "statistics",
        "string",
        "textwrap",
        "types",
        "typing",
        "unicodedata",
        "uuid",
        "zoneinfo",
    }
)

# Third-party libraries that are plain computation on values.
PURE_LIBRARIES = frozenset(
    {
        "msgspec",
        "phonenumbers",
        "vietnam_provinces",
        "holidays",
        "unidecode",
        # the weekend plan's min-cost flow (services/volunteers/domain/cost_scaling.py): no I/O
        "ortools",
        "numpy",
    }
)

# Shared modules domain code may import; a trailing ".*" allows the package and everything
# in it. shared.phones, shared.errors and shared.events.fold are being added (issue 14).
PURE_SHARED = (
    "shared.events.*",
    "shared.ids",
    "shared.clock",
    "shared.phones",
    "shared.errors",
    "shared.communes",
)

SERVICES = ("scheduler", "volunteers", "notifications", "console")
# They compose the services, so they import all of them.
COMPOSERS = ("services.cli", "services.demo")

# Imports that break the rules today and are being fixed elsewhere: (module, import) -> why.
EXCEPTIONS: dict[tuple[str, str], str] = {
    # New ids (UUIDv7) read the system clock and the OS's randomness, as uuid.uuid4 does; no
    # file, socket or process is touched, so domain code may still make ids.
    ("shared.ids", "os"): "os.urandom for the random bits of a UUIDv7",
    ("shared.ids", "time"): "time.time_ns for the milliseconds of a UUIDv7",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    imported: str  # the module imported, dotted and absolute

    def __str__(self) -> str:
        return f"{self.module} imports {self.imported}"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> Iterator[Import]:
    """Every module `path` imports, relative imports resolved against its package."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                assert node.module is not None
                yield Import(module, node.module)
                continue
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            if node.module:
                yield Import(module, ".".join([*base, node.module]))
            else:  # `from . import x`: each name may be a module of the package
                for alias in node.names:
                    yield Import(module, ".".join([*base, alias.name]))


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def is_pure_shared(name: str) -> bool:
    return any(
        within(name, allowed.removesuffix(".*")) if allowed.endswith(".*") else name == allowed
        for allowed in PURE_SHARED
    )


def is_pure(name: str) -> bool:
    top = name.partition(".")[0]
    return top in PURE_STDLIB or top in PURE_LIBRARIES or is_pure_shared(name)


def allowed(found: Import) -> bool:  # noqa: PLR0911 one return per layer
    """Whether the importing module's layer may make this import."""
    module, imported = found.module, found.imported
    top = imported.partition(".")[0]
    if within(module, "tests"):
        return True
    for service in SERVICES:
        domain = f"services.{service}.domain"
        if within(module, domain):
            return within(imported, domain) or is_pure(imported)
    if is_pure_shared(module):
        return is_pure(imported)
    if within(module, "shared"):
        return top not in {"services", "tests", "bench"}
    if any(within(module, composer) for composer in COMPOSERS):
        return not within(imported, "tests")
    for service in SERVICES:
        if within(module, f"services.{service}"):
            others = [f"services.{s}" for s in SERVICES if s != service]
            composers = any(within(imported, c) for c in COMPOSERS)
            return not composers and not any(within(imported, o) for o in others)
    return True


def violations(root: Path) -> list[str]:
    found = [
        found
        for top in ("shared", "services", "tests")
        for path in sorted((root / top).rglob("*.py"))
        for found in imports_of(path, root)
    ]
    return [
        str(found)
        for found in found
        if not allowed(found) and (found.module, found.imported) not in EXCEPTIONS
    ]


def test_every_import_is_one_its_layer_may_make() -> None:
    found = violations(ROOT)
    assert not found, "imports their layer may not make (tests/unit/test_layering.py):\n" + (
        "\n".join(found)
    )


def write(root: Path, module: str, source: str) -> None:
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


def test_the_checker_catches_what_each_layer_may_not_import(tmp_path: Path) -> None:
    write(tmp_path, "services.scheduler.domain.booking", "from shared.store import tables\n")
    write(tmp_path, "services.scheduler.domain.sessions", "import asyncio\nfrom . import booking\n")
    write(tmp_path, "services.scheduler.domain.places", "from ..handlers import place\n")
    write(tmp_path, "services.scheduler.handlers", "from services.volunteers import api\n")
    write(tmp_path, "shared.events.base", "import sqlalchemy\n")
    write(tmp_path, "shared.store.tables", "import bench.system\n")
    write(tmp_path, "services.cli", "from services.scheduler import app\n")
    write(tmp_path, "tests.test_x", "import bench.system\n")

    assert violations(tmp_path) == [
        "shared.events.base imports sqlalchemy",
        "shared.store.tables imports bench.system",
        "services.scheduler.domain.booking imports shared.store",
        "services.scheduler.domain.places imports services.scheduler.handlers",
        "services.scheduler.domain.sessions imports asyncio",
        "services.scheduler.handlers imports services.volunteers",
    ]
