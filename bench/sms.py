"""Benchmark: 50,000 notifications (the province's launch audience) through the notifications
service: scheduler events published on a real nats-server (by a process of their own, as the
scheduler would) -> the consumer writes each SMS down (and plans its reminders) -> the sender
claims, marks, hands it to a local HTTP gateway (in its own process) and records it sent. The
provider's rate limit is lifted.

`python -m bench.sms [--count N] [--kind booked|waitlisted]`; SQLite by default,
PostgreSQL when HANDINHAND_BENCH_DATABASE_URL is set. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.loop import run as run_on_loop
from shared.events.base import Event

DATABASE_VARIABLE = "HANDINHAND_BENCH_DATABASE_URL"
TARGET_S = 60.0


async def _serve_provider(expected: int) -> None:
    """A minimal HTTP/1.1 JSON gateway: answers every POST with an id; reports the Nth."""
    count = 0
    done = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        try:
            while line := await reader.readline():
                length = 0
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                count += 1
                body = b'{"id": "gw-%d"}' % count
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                if count == expected:
                    print(f"done {time.time()}", flush=True)
                    done.set()
                _ = line
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait(
        [asyncio.ensure_future(done.wait()), asyncio.ensure_future(stdin_closed)],
        return_when=asyncio.FIRST_COMPLETED,
    )
    await asyncio.wait_for(asyncio.shield(asyncio.ensure_future(stdin_closed)), None)
    server.close()


def _events(count: int, kind: str, now: datetime) -> list[tuple[str, Event]]:
    from shared.events.scheduler import (
        BookingId,
        CommuneCode,
        HelpRequestId,
        ResidentBooked,
        ResidentContact,
        ResidentWaitlisted,
        SessionId,
        Slot,
        Venue,
    )
    from shared.events.vocabulary import Language, Topic
    from shared.ids import uuid7

    starts = (now + timedelta(days=10)).replace(minute=0, second=0, microsecond=0)
    local = starts + timedelta(hours=7)
    when = Slot(
        local_date=local.date(),
        start_local=local.time(),
        end_local=(local + timedelta(hours=3)).time(),
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
    )
    made: list[tuple[str, Event]] = []
    for i in range(count):
        resident = ResidentContact(
            request_id=HelpRequestId(f"request-{uuid7()}"),
            name="Nguyễn Văn An",
            phone=f"+849{i:08d}",
            preferred_language=Language.VI if i % 10 else Language.EN,
        )
        session = SessionId(f"session-{uuid7()}")
        event: Event
        if kind == "waitlisted":
            event = ResidentWaitlisted(
                request_id=resident.request_id,
                resident=resident,
                commune_code=CommuneCode("15835"),
                topics=(Topic.VNEID_ACTIVATION,),
                waitlisted_at=now,
            )
        else:
            event = ResidentBooked(
                session_id=session,
                booking_id=BookingId(f"booking-{uuid7()}"),
                resident=resident,
                topics=(Topic.VNEID_ACTIVATION, Topic.ONLINE_PUBLIC_SERVICES),
                commune_code=CommuneCode("15835"),
                venue=Venue(name="Nhà văn hóa thôn Đồng Xuân", address="Thiệu Trung"),
                when=when,
                booked_at=now,
            )
        made.append((session, event))
    return made


async def _speak_as_scheduler(count: int, kind: str, nats_url: str) -> None:
    """The scheduler's side, in its own process as in production: the events are made
    first, then published when the benchmark says go."""
    import nats

    events = _events(count, kind, datetime.now(UTC))
    connection = await nats.connect(nats_url)
    try:
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)
        print(f"started {time.time()}", flush=True)
        await _publish(connection.jetstream(), events)
        print(f"published {time.time()}", flush=True)
    finally:
        await connection.drain()


async def _publish(js: Any, events: list[tuple[str, Event]]) -> None:
    from shared.bus.cloudevents import headers_for, subject_for
    from shared.bus.streams import ensure_stream
    from shared.events.catalog import encode
    from shared.ids import uuid7
    from shared.store.log import StoredEvent

    await ensure_stream(js, "scheduler")
    now = datetime.now(UTC)
    for start in range(0, len(events), 1000):
        batch = []
        for stream, event in events[start : start + 1000]:
            stored = StoredEvent(
                at=(0, 0),
                event_id=str(uuid7()),
                stream_id=stream,
                stream_version=1,
                event_type=event.event_type,
                schema_version=event.schema_version,
                data=encode(event),
                recorded_at=now,
                correlation_id=str(uuid7()),
                causation_id=None,
            )
            batch.append(
                js.publish(
                    subject_for("scheduler", event.event_type),
                    stored.data,
                    headers=headers_for("scheduler", stored),
                )
            )
        await asyncio.gather(*batch)


async def _count_sent(runtime: Any) -> int:
    from services.notifications.tables import messages

    async with runtime.store.engine.connect() as conn:
        found = await conn.scalar(
            sa.select(sa.func.count()).select_from(messages).where(messages.c.status == "sent")
        )
    return int(found or 0)


async def _measure(
    runtime: Any,
    scheduler: asyncio.subprocess.Process,
    gateway: asyncio.subprocess.Process,
    count: int,
) -> tuple[float, float, float, float]:
    """Go; then when publishing started and ended, the gateway had the last, all were sent."""
    assert scheduler.stdin is not None
    assert scheduler.stdout is not None
    assert gateway.stdout is not None
    for _ in range(600):
        if runtime.js is not None and runtime.consumers:
            break
        await asyncio.sleep(0.05)
    await asyncio.wait_for(scheduler.stdout.readline(), 120)  # its events are made
    scheduler.stdin.write(b"go\n")
    await scheduler.stdin.drain()
    started = float((await scheduler.stdout.readline()).decode().split()[1])
    published = float((await scheduler.stdout.readline()).decode().split()[1])
    await scheduler.wait()
    line = await asyncio.wait_for(gateway.stdout.readline(), TARGET_S * 10)
    last_handed = float(line.decode().split()[1])
    for _ in range(6000):
        if await _count_sent(runtime) >= count:
            break
        await asyncio.sleep(0.1)
    return started, published, last_handed, time.time()


async def _helper(*args: str) -> asyncio.subprocess.Process:
    """This module in another process: the gateway, or the scheduler's side."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.sms",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def run(count: int, kind: str, directory: Path) -> dict[str, Any]:
    from migrations.run import migrate
    from services.notifications.app import create_app
    from services.notifications.providers.http_json import HttpJsonConfig
    from services.notifications.settings import NotificationSettings
    from shared.bus.server import NatsServer
    from shared.personal.masterkeys import MasterKey, MasterKeys
    from shared.settings import SERVICES, Database, Settings
    from shared.store.schema import drop_schema
    from shared.tokenkeys import TokenKeys

    url = os.environ.get(DATABASE_VARIABLE)
    tag = f"bench_sms_{os.getpid()}"
    databases = {
        service: Database(url=url, schema=f"{tag}_{service}")
        if url
        else Database(url=f"sqlite:///{directory / f'{service}.db'}", schema="main")
        for service in SERVICES
    }
    nats_server = NatsServer(directory / "nats")
    nats_server.start()
    gateway = await _helper("--serve-provider", str(count))
    assert gateway.stdout is not None
    assert gateway.stdin is not None
    scheduler: asyncio.subprocess.Process | None = None
    try:
        port = int((await gateway.stdout.readline()).decode().split()[1])
        settings = Settings(
            var_dir=directory,
            databases=databases,
            token_keys=TokenKeys.of_one_secret("bench-" + "x" * 40),
            data_keys=MasterKeys((MasterKey(kid="bench", key=b"b" * 32),)),
            nats_url=nats_server.url,
        )
        await migrate("notifications", settings.database("notifications"))
        sms = NotificationSettings(
            provider="http_json",
            http_json=HttpJsonConfig(url=f"http://127.0.0.1:{port}/send"),
            rate=0,
            batch_size=500,
            concurrency=16,
            idle_wait=0.05,
            quiet_start=datetime.min.time(),
            quiet_end=datetime.min.time(),
        )
        app = create_app(settings, sms=sms)
        runtime = app.state.runtime
        scheduler = await _helper("--speak-as-scheduler", str(count), kind, nats_server.url)
        async with runtime.lifespan(app.state.work):
            started, published, last_handed, recorded = await _measure(
                runtime, scheduler, gateway, count
            )
    finally:
        if scheduler is not None and scheduler.returncode is None:
            scheduler.kill()
            await scheduler.wait()
        gateway.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            await asyncio.wait_for(gateway.wait(), 5)
        nats_server.stop()
        if url:
            for database in databases.values():
                await drop_schema(database.url, database.schema)
    until_last = last_handed - started
    return {
        "bench": "sms",
        "database": "postgresql" if url else "sqlite",
        "kind": kind,
        "notifications": count,
        "publish_seconds": round(published - started, 2),
        "seconds_to_last_handed_to_provider": round(until_last, 2),
        "seconds_to_all_recorded_sent": round(recorded - started, 2),
        "throughput_per_s": round(count / until_last, 1),
        "target_seconds": TARGET_S,
        "met_target": count >= 50_000 and until_last < TARGET_S,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="handinhand bench sms", description=__doc__)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--kind", choices=["booked", "waitlisted"], default="booked")
    parser.add_argument("--serve-provider", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--speak-as-scheduler", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_provider is not None:
        run_on_loop(_serve_provider(args.serve_provider))
        return 0
    if args.speak_as_scheduler is not None:
        count, kind, nats_url = args.speak_as_scheduler
        run_on_loop(_speak_as_scheduler(int(count), kind, nats_url))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-sms-") as directory:
        result = run_on_loop(run(args.count, args.kind, Path(directory)))
    print(
        f"{result['notifications']} notifications ({result['kind']}, {result['database']}): "
        f"published in {result['publish_seconds']} s, last handed to the provider after "
        f"{result['seconds_to_last_handed_to_provider']} s "
        f"({result['throughput_per_s']}/s), all recorded sent after "
        f"{result['seconds_to_all_recorded_sent']} s"
    )
    print(json.dumps(result))
    return 0 if result["met_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
