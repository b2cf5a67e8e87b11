"""What a page does wrong beside what its test asserts: a request off this machine (the
console ships HTMX and its charts and must load nothing from the internet) or an uncaught
script error. The browser fixtures collect them, and any left at a test's end fail it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Any URL but this machine's; what Chromium loads itself (data:, about:) never reaches routes.
OUTSIDE = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost|\[::1\])[:/])")


@dataclass
class Faults:
    outside_requests: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"  request off this machine, refused: {url}" for url in self.outside_requests]
        lines += [f"  uncaught script error: {error}" for error in self.script_errors]
        return "\n".join(lines)
