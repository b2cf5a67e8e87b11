"""The console's words: gettext catalogs (Babel `.po` files under `locale/`), Vietnamese by
default, English by choice; and dates written the way each reads them.

The language of the request being answered is a context variable, set by `language_middleware`
from `?lang=` (remembered in a cookie) or that cookie, so templates and code call plain
`gettext`.
"""

from __future__ import annotations

import contextvars
import gettext as stdlib_gettext
import io
from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from shared.clock import VIETNAM

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
COOKIE = "lang"
LOCALE_DIR = Path(__file__).parent / "locale"

_current = contextvars.ContextVar("console_language", default=DEFAULT)
_catalogs: dict[str, stdlib_gettext.GNUTranslations] = {}


def load_catalogs(directory: Path = LOCALE_DIR) -> None:
    """Read the `.po` catalogs once (at app creation): compiled in memory, so the package ships
    no binary `.mo` files that could drift from their sources."""
    for language in LANGUAGES:
        with (directory / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
            catalog = read_po(source, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        _catalogs[language] = stdlib_gettext.GNUTranslations(compiled)


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "translate later")
    """Marks a message for the catalogs where it is defined; `gettext` translates it when used."""
    return message


def current() -> str:
    return _current.get()


def gettext(message: str) -> str:
    catalog = _catalogs.get(_current.get())
    return message if catalog is None else catalog.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    catalog = _catalogs.get(_current.get())
    if catalog is None:
        return singular if count == 1 else plural
    return catalog.ngettext(singular, plural, count)


def day(value: date) -> str:
    """ "Thứ Bảy, 06/12/2026" in Vietnamese; "Saturday, 6 December 2026" in English."""
    if _current.get() == "vi":
        return format_date(value, "EEEE, dd/MM/yyyy", locale="vi")
    return format_date(value, "EEEE, d MMMM yyyy", locale="en")


def short_day(value: date) -> str:
    """ "12/12" in Vietnamese, "12 December" in English: a day whose year the page says."""
    if _current.get() == "vi":
        return format_date(value, "dd/MM", locale="vi")
    return format_date(value, "d MMMM", locale="en")


def number(value: float) -> str:
    """ "1,5" in Vietnamese, "1.5" in English."""
    return format_decimal(value, locale=_current.get())


def moment(value: datetime) -> str:
    """An instant as Vietnam reads it, whatever the language: "Thứ Bảy, 05/12/2026 08:00"."""
    local = value.astimezone(VIETNAM)
    return f"{day(local.date())} {local:%H:%M}"


def _chosen(scope: Scope) -> tuple[str, bool]:
    """The language asked for and whether `?lang=` asked (then the cookie remembers it)."""
    query = scope.get("query_string", b"").decode("latin-1")
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "lang" and value in LANGUAGES:
            return value, True
    for header, raw in scope.get("headers", []):
        if header == b"cookie":
            for part in raw.decode("latin-1").split(";"):
                key, _, chosen = part.strip().partition("=")
                if key == COOKIE and chosen in LANGUAGES:
                    return chosen, False
    return DEFAULT, False


def language_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        language, asked = _chosen(scope)
        token = _current.set(language)

        async def send_with_cookie(message: Message) -> None:
            if asked and message["type"] == "http.response.start":
                cookie = f"{COOKIE}={language}; Path=/; Max-Age=31536000; SameSite=Lax"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_cookie)
        finally:
            _current.reset(token)

    return middleware
