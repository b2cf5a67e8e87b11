"""Every handler port has one shape: the transaction and at most one subject (the command, the
event or the id it acts on) positionally, everything else (options, now, cause, flags…)
keyword-only after `*`, so a call site reads the same in every service and a swapped `now`
and `cause` cannot slip through.

A port is an async function whose first parameter is `tx`; private helpers count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]

# The modules holding handler ports, as globs under the repository root.
HANDLER_MODULES = (
    "services/scheduler/handlers/*.py",
    "services/volunteers/handlers.py",
    "services/volunteers/planning.py",
    "services/notifications/handlers.py",
    "services/notifications/batch.py",
    "services/console/handlers.py",
    "services/console/signin.py",
)

MOST_POSITIONAL = 2  # tx and the subject


def misshapen(source: str) -> list[str]:
    """The ports in `source` taking more than `tx` and one subject positionally."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.AsyncFunctionDef):
            continue
        positional = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        many = len(positional) > MOST_POSITIONAL
        if node.args.vararg is not None:  # *args takes any number of them
            positional.append("*" + node.args.vararg.arg)
            many = True
        if positional[:1] == ["tx"] and many:
            found.append(f"{node.name}({', '.join(positional)}, ...) at line {node.lineno}")
    return found


def handler_modules() -> list[Path]:
    paths = []
    for pattern in HANDLER_MODULES:
        matched = sorted(ROOT.glob(pattern))
        assert matched, f"{pattern} in HANDLER_MODULES matches no file"
        paths.extend(matched)
    return paths


def test_every_handler_port_takes_tx_and_one_subject_positionally() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {port}"
        for path in handler_modules()
        for port in misshapen(path.read_text(encoding="utf-8"))
    ]
    assert not found, (
        "handler ports taking more than tx and one subject positionally; put the rest after"
        " `*` (tests/unit/test_shape.py):\n" + "\n".join(found)
    )


def test_the_checker_names_each_port_with_too_many_positional_parameters() -> None:
    source = """
async def open_slot(tx, command, *, options, now, cause): ...
async def close_slot(tx, slot_id, closing, *, now): ...
async def _propose(tx, state, /, version): ...
async def spread(tx, *subjects): ...
async def load_slot(tx, slot_id): ...
async def not_a_port(store, command, now, cause): ...
def sync_helper(tx, state, version): ...
"""
    assert misshapen(source) == [
        "close_slot(tx, slot_id, closing, ...) at line 3",
        "_propose(tx, state, version, ...) at line 4",
        "spread(tx, *subjects, ...) at line 5",
    ]


def test_the_example_in_adding_a_service_is_the_real_signature() -> None:
    doc = (ROOT / "docs" / "adding-a-service.md").read_text(encoding="utf-8")
    section = doc.split("### Handlers: one shape for every port", 1)[1]
    example = section.split("```python", 1)[1].split("```", 1)[0]
    real = {
        node.name: ast.unparse(node.args)
        for path in handler_modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.AsyncFunctionDef)
    }
    shown = [n for n in ast.walk(ast.parse(example)) if isinstance(n, ast.AsyncFunctionDef)]
    assert shown, "no example in the handlers section of docs/adding-a-service.md"
    for node in shown:
        assert ast.unparse(node.args) == real.get(node.name), node.name
    assert not misshapen(example)
