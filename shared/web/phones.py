"""Phone numbers as clients write them: the one pattern every service's document states.

A number that fits the pattern can still be refused (not Vietnamese, not a mobile): that is a
422 naming the field, decided by each service's own phone rules.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import PathParameter, QueryParameter

# Digits with the separators people write: "0912 345 678", "(+84) 912-345-678", "0912.345.678".
PATTERN = r"^[ (]*\+?[0-9 .()-]{9,24}$"
DESCRIPTION = "a phone number as people write it: +84912345678, 0912 345 678, 0912.345.678"

# In a JSON body.
WrittenPhone = Annotated[
    str, msgspec.Meta(pattern=PATTERN, description=DESCRIPTION, examples=["+84912345678"])
]
# In a path, or an optional query parameter.
PathPhone = Annotated[str, PathParameter(pattern=PATTERN, description=DESCRIPTION)]
QueryPhone = Annotated[str | None, QueryParameter(pattern=PATTERN, description=DESCRIPTION)]
