"""Phone numbers as clients write them: the one pattern every service's document states.

A number that fits the pattern can still be refused (not Vietnamese, not a mobile): that is a
422 naming the field, decided by the one phone rule of `shared.phones`.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import PathParameter, QueryParameter

from shared.phones import WRITTEN_PHONE

# The same pattern the parser checks first (shared.phones), stated in each service's document.
PATTERN = WRITTEN_PHONE
DESCRIPTION = "a phone number as people write it: +84912345678, 0912 345 678, 0912.345.678"

# In a JSON body.
WrittenPhone = Annotated[
    str, msgspec.Meta(pattern=PATTERN, description=DESCRIPTION, examples=["+84912345678"])
]
# In a path, or an optional query parameter.
PathPhone = Annotated[str, PathParameter(pattern=PATTERN, description=DESCRIPTION)]
QueryPhone = Annotated[str | None, QueryParameter(pattern=PATTERN, description=DESCRIPTION)]
