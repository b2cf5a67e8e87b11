"""An unexpected error is logged with its path, unless the path holds a secret."""

from __future__ import annotations

import logging

import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import AsyncTestClient

from shared.web.problems import HIDDEN_PATH, problem_handlers


@get("/calendars/{feed_name:str}", opt={HIDDEN_PATH: True}, sync_to_thread=False)
def feed(feed_name: FromPath[str]) -> str:
    raise RuntimeError(f"broken feed {len(feed_name)}")


@get("/things/{thing_id:str}", sync_to_thread=False)
def thing(thing_id: FromPath[str]) -> str:
    raise RuntimeError(f"broken thing {len(thing_id)}")


async def test_a_secret_in_the_path_never_reaches_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Litestar([feed, thing], exception_handlers=problem_handlers(), logging_config=None)
    with caplog.at_level(logging.ERROR):
        async with AsyncTestClient(app=app) as client:
            secret = await client.get("/calendars/Zm9vYmFyc2VjcmV0.ics")
            plain = await client.get("/things/thing-42")

    assert secret.status_code == 500
    assert plain.status_code == 500
    assert "Zm9vYmFyc2VjcmV0" not in caplog.text
    assert "GET /calendars/{feed_name}" in caplog.text
    assert "GET /things/thing-42" in caplog.text
