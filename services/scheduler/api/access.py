"""Who may do what: a caller's scope as the domain reads it, and the checks the routes make."""

from __future__ import annotations

from functools import cache

from litestar.di import NamedDependency
from vietnam_provinces import ProvinceCode as LibraryProvinceCode

from shared.web.auth import Caller, Role

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


@cache
def _every_province() -> tuple[str, ...]:
    return tuple(str(code.value).zfill(2) for code in LibraryProvinceCode)


def scope_of(caller: NamedDependency[Caller]) -> tuple[str, ...]:
    """The codes a caller may touch, as the domain reads them (an admin of the whole
    deployment: every province)."""
    return _every_province() if caller.everywhere else caller.scope


def coordinator_scope(caller: NamedDependency[Caller]) -> tuple[str, ...]:
    caller.require(Role.COORDINATOR)
    return scope_of(caller)


def read_scope(caller: NamedDependency[Caller], commune_code: str, province_code: str) -> None:
    caller.require(Role.COORDINATOR)
    caller.require_commune(commune_code, province_code)
