"""Two locks compiled from pyproject.toml: `requirements.lock` (runtime, what the image installs)
and `requirements-dev.lock` (runtime and the dev extra, what `./dev` installs). They agree on
every version, and no dev tool reaches the image (docs/dependencies.md)."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]
RUNTIME_LOCK = "requirements.lock"
DEV_LOCK = "requirements-dev.lock"

# Dev-extra packages the runtime needs as well, each with the runtime package that brings it.
# The tests read YAML with pyyaml; litestar depends on it, so it is in both locks by need.
BROUGHT_BY_RUNTIME = {"pyyaml": "litestar"}

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;]+)")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    """Package names compare as the index does (PEP 503): `PyYAML` is `pyyaml`."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Lock:
    versions: dict[str, str]
    brought_by: dict[str, set[str]]  # from uv's `# via` comments
    command: list[str]  # the header's compile command


def read_lock(filename: str) -> Lock:
    versions: dict[str, str] = {}
    brought_by: dict[str, set[str]] = {}
    command: list[str] = []
    current = ""
    for line in (ROOT / filename).read_text().splitlines():
        if pin := _PIN.match(line):
            current = canonical(pin["name"])
            versions[current] = pin["version"]
            brought_by[current] = set()
        elif line.startswith("#    uv "):
            command = shlex.split(line.removeprefix("#"))
        elif current and (via := re.match(r"^\s+# (?:via |  )(\S.*)$", line)):
            brought_by[current].add(via[1].strip())
    return Lock(versions, brought_by, command)


def names(requirements: list[str]) -> set[str]:
    found = set()
    for requirement in requirements:
        match = _REQUIREMENT_NAME.match(requirement)
        assert match, f"cannot read the name of {requirement!r}"
        found.add(canonical(match[1]))
    return found


def project() -> dict[str, list[str]]:
    """[project] dependencies as "runtime", and each optional extra by its name."""
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras: dict[str, list[str]] = table["optional-dependencies"]
    return {"runtime": table["dependencies"], **extras}


def test_the_runtime_lock_holds_no_package_only_the_dev_extra_brings() -> None:
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
    dev_extra = names(project()["dev"])
    only_in_dev_lock = set(dev.versions) - set(runtime.versions)

    assert dev_extra - set(BROUGHT_BY_RUNTIME) <= only_in_dev_lock
    assert dev_extra & set(runtime.versions) == set(BROUGHT_BY_RUNTIME)


def test_a_dev_package_in_the_runtime_lock_is_there_for_a_runtime_package() -> None:
    runtime = read_lock(RUNTIME_LOCK)
    direct = names(project()["runtime"])

    for package, needed_by in BROUGHT_BY_RUNTIME.items():
        assert package not in direct, f"{package} is a runtime dependency of our own"
        assert needed_by in runtime.brought_by[package], f"{needed_by} no longer brings {package}"


def test_every_runtime_package_has_the_same_version_in_the_dev_lock() -> None:
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)

    differ = {
        name: (version, dev.versions.get(name))
        for name, version in runtime.versions.items()
        if dev.versions.get(name) != version
    }
    assert not differ, f"runtime lock vs dev lock: {differ}"


def test_every_dependency_of_pyproject_is_pinned_in_its_lock() -> None:
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
    wanted = project()

    assert names(wanted["runtime"]) - set(runtime.versions) == set()
    assert names(wanted["runtime"] + wanted["dev"]) - set(dev.versions) == set()


def test_each_lock_says_the_command_that_made_it() -> None:
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)

    assert dev.command[:4] == ["uv", "pip", "compile", "pyproject.toml"]
    assert dev.command[dev.command.index("--extra") + 1] == "dev"
    assert dev.command[dev.command.index("-o") + 1] == DEV_LOCK
    assert runtime.command[:4] == ["uv", "pip", "compile", "pyproject.toml"]
    assert "--extra" not in runtime.command
    # compiled within the dev lock's pins, so the two agree on every version
    assert runtime.command[runtime.command.index("-c") + 1] == DEV_LOCK
    assert runtime.command[runtime.command.index("-o") + 1] == RUNTIME_LOCK


def test_the_image_installs_the_runtime_lock_and_never_the_dev_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]

    assert any(f"-r {RUNTIME_LOCK}" in line for line in installs)
    assert all("-r" not in line.split() or f"-r {RUNTIME_LOCK}" in line for line in installs)
    assert DEV_LOCK not in dockerfile
    assert "[dev]" not in dockerfile
    assert "--extra" not in dockerfile


def test_dev_installs_the_dev_lock_again_when_either_lock_changes() -> None:
    script = (ROOT / "dev").read_text()
    stamp = re.search(r"^want=\$\(cat ([^|]+)\|", script, re.MULTILINE)

    assert stamp, "./dev computes no stamp"
    assert {RUNTIME_LOCK, DEV_LOCK, "pyproject.toml"} <= set(stamp[1].split())
    assert f"-r {DEV_LOCK}" in script
