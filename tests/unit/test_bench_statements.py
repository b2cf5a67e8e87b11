"""`bench e2e --statements`: the per-request figures, and round trips counted on the wire."""

from __future__ import annotations

import struct

from bench.statements import Sample, shape, summary, with_database
from bench.wire import MessageReader, Tally


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def test_a_sync_and_a_simple_query_are_round_trips_whatever_the_pieces_they_arrive_in() -> None:
    tally = Tally()
    reader = MessageReader(tally)
    stream = (
        message(b"P", b"\x00SELECT 1\x00\x00\x00")
        + message(b"B", b"\x00" * 10)
        + message(b"E", b"\x00" * 5)
        + message(b"B", b"\x00" * 10)  # executemany: many binds and executes, one sync
        + message(b"E", b"\x00" * 5)
        + message(b"S")
        + message(b"Q", b"BEGIN\x00")
    )
    for i in range(0, len(stream), 3):
        reader.feed(stream[i : i + 3])
    assert tally.round_trips == 2


def test_statements_and_transactions_per_request_are_split_by_service_and_net_of_background() -> (
    None
):
    databases = {"scheduler": "bench_scheduler", "volunteers": "bench_volunteers"}
    rows = [
        {"datname": "bench_scheduler", "query": "INSERT  INTO\n events", "calls": 200, "rows": 200}
        | {"total_exec_time": 4.0},
        {"datname": "bench_scheduler", "query": "BEGIN", "calls": 50, "rows": 0}
        | {"total_exec_time": 0.05},
        {"datname": "bench_volunteers", "query": "BEGIN", "calls": 10, "rows": 0}
        | {"total_exec_time": 0.01},
        {"datname": "other", "query": "SELECT 1", "calls": 999, "rows": 999}
        | {"total_exec_time": 1.0},
    ]
    start = Sample(at=0.0, transactions={"bench_scheduler": 7}, round_trips={"scheduler": 3})
    end = Sample(
        at=10.0,
        transactions={"bench_scheduler": 57, "bench_volunteers": 10},
        round_trips={"scheduler": 103, "volunteers": 20},
    )
    background = {"scheduler": {"statements_per_s": 1.0, "round_trips_per_s": 1.0}}

    figures = summary(databases, rows, start, end, 100, background)

    scheduler = figures["services"]["scheduler"]
    assert scheduler["statements_per_request"] == 2.5
    assert scheduler["net_statements_per_request"] == 2.4
    assert scheduler["transactions_per_request"] == 0.5
    assert scheduler["round_trips_per_request"] == 1.0
    assert scheduler["net_round_trips_per_request"] == 0.9
    assert scheduler["top"][0] == {
        "query": "INSERT INTO events",
        "calls": 200,
        "calls_per_request": 2.0,
        "mean_ms": 0.02,
        "rows_per_call": 1.0,
    }
    assert figures["services"]["volunteers"]["statements"] == 10


def test_a_service_database_is_named_on_the_same_server() -> None:
    assert (
        with_database("postgresql://postgres@127.0.0.1:5432/test", "bench_scheduler")
        == "postgresql://postgres@127.0.0.1:5432/bench_scheduler"
    )


def test_an_in_list_of_any_length_is_one_statement() -> None:
    assert (
        shape("SELECT a FROM t WHERE b IN ($1::VARCHAR, $2::VARCHAR,\n $3::VARCHAR) AND c = $4")
        == "SELECT a FROM t WHERE b IN ($…) AND c = $4"
    )
