"""Which fields of an event are personal, and rewriting all of them at once.

A personal field is a `str` marked `Personal` (names, phones, addresses, free text). The
struct that holds it names, in its `person` class variable, the field (a dotted path for a
nested one) that holds the id of the person the value is about; or, as `~<field>`, the phone
number the values are about, when the service knows a number rather than a person (the
notifications' SMS): the person is then `phone-<keyed hash of the number>`, computed by the
service that seals, and written into each sealed value so that a reader can find the key.
The store seals every marked value with that person's data key on the way in and opens it
on the way out (`shared/personal/`): the rest of the code sees plain text, the log and the
streams hold only sealed values.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, NamedTuple, TypeVar, Union

import msgspec

PERSONAL = msgspec.Meta(
    extra={"personal": True},
    description="Personal: on the wire `hih-sealed:v1:<base64>` (AES-256-GCM with the data key "
    'of the person the event names; ask the owning service for it), or "" when empty.',
    extra_json_schema={"x-personal": True},
)
Personal = Annotated[str, PERSONAL]

# What a personal value reads as once its person was erased (their key is gone).
ERASED = ""

S = TypeVar("S", bound=msgspec.Struct)


class PhoneOf(NamedTuple):
    """The person of a value is whoever has this number (a `~<field>` person)."""

    phone: str


# Who a value is about: a person's id, or the number of whoever has it.
Whose = str | PhoneOf
# (whose, field name, value) -> the new value
Change = Callable[[Whose, str, str], str]


class _Marked(NamedTuple):
    field: str
    person: tuple[str, ...]  # the path, from the struct that holds the field, to the person's id
    by_phone: bool = False  # the path leads to a phone number, not a person's id


class _Nested(NamedTuple):
    field: str
    shape: Literal["one", "maybe", "many"]
    plan: Plan


Plan = tuple[_Marked | _Nested, ...]


def _is_personal(hint: Any) -> bool:
    if typing.get_origin(hint) is Annotated:
        return any(
            isinstance(meta, msgspec.Meta) and (meta.extra or {}).get("personal") is True
            for meta in hint.__metadata__
        )
    return False


def _without_none(hint: Any) -> tuple[Any, bool]:
    """(the hint without `| None`, whether it had it)."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(options) == 1:
            return options[0], True
    return hint, False


def _struct(hint: Any) -> type[msgspec.Struct] | None:
    return hint if isinstance(hint, type) and issubclass(hint, msgspec.Struct) else None


@functools.cache
def plan_of(cls: type[msgspec.Struct]) -> Plan:
    """The personal fields of `cls` and of the structs inside it; () when it has none."""
    hints = typing.get_type_hints(cls, include_extras=True)
    person = getattr(cls, "person", None)
    steps: list[_Marked | _Nested] = []
    for name in cls.__struct_fields__:
        hint, _optional = _without_none(hints[name])
        if _is_personal(hint):
            if not isinstance(person, str):
                raise TypeError(f"{cls.__name__}.{name} is personal: no `person` says whose")
            by_phone = person.startswith("~")
            steps.append(_Marked(name, tuple(person.removeprefix("~").split(".")), by_phone))
            continue
        inner = _struct(hint)
        shape: Literal["one", "maybe", "many"] = "maybe" if _optional else "one"
        if inner is None and typing.get_origin(hint) is tuple:
            args = typing.get_args(hint)
            if len(args) == 2 and args[1] is Ellipsis:
                inner, shape = _struct(args[0]), "many"
        if inner is not None:
            nested = plan_of(inner)
            if nested:
                steps.append(_Nested(name, shape, nested))
    return tuple(steps)


def _person_of(value: Any, step: _Marked) -> Whose:
    for name in step.person:
        value = getattr(value, name)
    return PhoneOf(str(value)) if step.by_phone else str(value)


def _children(value: Any, step: _Nested) -> Iterator[Any]:
    inner = getattr(value, step.field)
    if step.shape == "many":
        yield from inner
    elif inner is not None:
        yield inner


def values_of(value: msgspec.Struct) -> Iterator[tuple[Whose, str, str]]:
    """(whose, field, value) of every non-empty personal value in `value`."""
    yield from _values(value, plan_of(type(value)))


def _values(value: Any, plan: Plan) -> Iterator[tuple[Whose, str, str]]:
    for step in plan:
        if isinstance(step, _Marked):
            text = getattr(value, step.field)
            if text:
                yield _person_of(value, step), step.field, text
        else:
            for child in _children(value, step):
                yield from _values(child, step.plan)


def rewritten(value: S, change: Change) -> S:
    """`value` with `change` applied to each non-empty personal value (a new struct only when
    something changed)."""
    plan = plan_of(type(value))
    return _rewritten(value, plan, change) if plan else value


def _rewritten(value: Any, plan: Plan, change: Change) -> Any:
    changes: dict[str, Any] = {}
    for step in plan:
        if isinstance(step, _Marked):
            text = getattr(value, step.field)
            if text:
                new = change(_person_of(value, step), step.field, text)
                if new != text:
                    changes[step.field] = new
            continue
        inner = getattr(value, step.field)
        if step.shape == "many":
            items = tuple(_rewritten(item, step.plan, change) for item in inner)
            if any(new is not old for new, old in zip(items, inner, strict=True)):
                changes[step.field] = items
        elif inner is not None:
            new_inner = _rewritten(inner, step.plan, change)
            if new_inner is not inner:
                changes[step.field] = new_inner
    return msgspec.structs.replace(value, **changes) if changes else value


def str_fields(cls: type[msgspec.Struct]) -> Iterator[tuple[str, bool]]:
    """(dotted name, marked personal) of every `str` field of `cls` and the structs inside it,
    for the catalog test that keeps a personal field from slipping through unmarked."""
    yield from _str_fields(cls, cls.__name__, set())


def _str_fields(
    cls: type[msgspec.Struct], prefix: str, seen: set[type]
) -> Iterator[tuple[str, bool]]:
    if cls in seen:
        return
    seen = seen | {cls}
    hints = typing.get_type_hints(cls, include_extras=True)
    for name in cls.__struct_fields__:
        hint, _ = _without_none(hints[name])
        bare = typing.get_args(hint)[0] if typing.get_origin(hint) is Annotated else hint
        if bare is str:
            yield f"{prefix}.{name}", _is_personal(hint)
            continue
        if typing.get_origin(hint) is tuple:
            args = typing.get_args(hint)
            if args and args[0] is str:
                yield f"{prefix}.{name}[]", False
                continue
            hint = args[0] if len(args) == 2 and args[1] is Ellipsis else hint
        inner = _struct(hint)
        if inner is not None:
            yield from _str_fields(inner, f"{prefix}.{name}", seen)
