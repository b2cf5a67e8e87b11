"""The `handinhand` command: run, migrate and operate the four services."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from shared.settings import SERVICES, ConfigError, Settings

EMBEDDED_NATS_PORT = 4322


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as error:
        print(f"handinhand: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def _service_settings(service: str, settings: Settings) -> dict[str, Any]:
    """The service's own settings, read here once from the environment (as `settings`)."""
    from shared.clock import SystemClock

    try:
        if service == "scheduler":
            from services.scheduler.limits import HelpRequestLimits

            return {"limits": HelpRequestLimits.from_env(SystemClock(), os.environ)}
        if service == "volunteers":
            from services.volunteers.planning import StaffingOptions
            from services.volunteers.settings import FeedSettings

            return {
                "staffing": StaffingOptions.from_env(os.environ),
                "feed": FeedSettings.from_env(os.environ, settings),
            }
        if service == "console":
            from services.console.settings import ConsoleSettings

            return {"console": ConsoleSettings.from_env(os.environ, settings)}
    except ConfigError as error:
        print(f"handinhand: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    return {"sms": _notification_settings(settings)}


def _create_app(service: str, settings: Settings) -> Any:
    module = importlib.import_module(f"services.{service}.app")
    return module.create_app(settings, **_service_settings(service, settings))


def _parts(service: str) -> Any:
    return importlib.import_module(f"services.{service}.parts").PARTS


# An idle keep-alive connection is closed by the server only after its clients and any proxy
# in front have stopped reusing it (httpx and browsers: 5-60 s; load balancers: 60 s). Equal
# timeouts race: a client reuses the connection just as the server closes it, and a POST that
# has no Idempotency-Key cannot be sent again. uvicorn's default is 5 s, httpx's too.
KEEP_ALIVE_S = 75
# A console page's event stream never ends by itself: on shutdown uvicorn waits this long for
# answers in flight, then closes what is left (the browser reconnects, to another instance).
GRACEFUL_SHUTDOWN_S = 10


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from shared.logs import configure_logging

    settings = _settings()
    configure_logging(args.service, settings.log_level, json_lines=settings.log_json)
    app = _create_app(args.service, settings)
    port = args.port or settings.ports[args.service]
    uvicorn.run(
        app,
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **proxy_trust(settings),
    )
    return 0


def proxy_trust(settings: Settings) -> dict[str, Any]:
    """uvicorn's reading of X-Forwarded-For/-Proto: only from the trusted proxies. uvicorn
    itself would believe any process on 127.0.0.1, so with none trusted the headers are not
    read at all: the client's address is the connection's (the console's per-address limit)."""
    if not settings.forwarded_allow_ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.forwarded_allow_ips)}


def cmd_migrate(args: argparse.Namespace) -> int:
    from migrations.run import migrate

    settings = _settings()
    for service in args.services or SERVICES:
        asyncio.run(migrate(service, settings.database(service)))
        print(f"{service}: migrated")
    return 0


def _embedded_nats(settings: Settings, env: dict[str, str]) -> Any:
    """Start the embedded nats-server unless HANDINHAND_NATS_URL points elsewhere."""
    from shared.bus.server import NatsServer

    if settings.nats_url is not None:
        print(f"nats            {settings.nats_url}")
        return None
    port = int(env.get("HANDINHAND_EMBEDDED_NATS_PORT", EMBEDDED_NATS_PORT))
    server = NatsServer(
        settings.var_dir / "nats", port, log_file=settings.var_dir / "nats.log", own_session=True
    )
    server.start()
    env["HANDINHAND_NATS_URL"] = server.url
    print(f"{'nats':<14}{server.url} (embedded, JetStream in {settings.var_dir / 'nats'})")
    return server


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _service_line(service: str, settings: Settings) -> str:
    """What `up` prints for a service: where it answers, and what to open there."""
    url = f"http://{settings.host}:{settings.ports[service]}"
    if service == "console":
        return f"{service:<14}{url}  (open it in a browser; sign-in codes show in the SMS log)"
    return f"{service:<14}{url}  (OpenAPI: {url}/schema/openapi.json, page: {url}/schema)"


def cmd_up(args: argparse.Namespace) -> int:
    from migrations.run import migrate

    settings = _settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # `up` is run by a person at a terminal: readable lines unless JSON is asked for
    env.setdefault("HANDINHAND_LOG_FORMAT", "text")
    if args.demo:
        # The demo's SMS show at once at any hour, unless quiet hours are configured.
        env.setdefault("HANDINHAND_SMS_QUIET_HOURS", "none")
    stopping = asyncio.Event()  # set from the signal handler; polled below

    def stop(_signal: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    _notification_settings(settings)  # the webhook secret exists before any service starts
    nats_server = _embedded_nats(settings, env)
    children: list[subprocess.Popen[bytes]] = []
    try:
        for service in SERVICES:
            asyncio.run(migrate(service, settings.database(service)))
        for service in SERVICES:
            command = [sys.executable, "-m", "services.cli", "serve", service]
            children.append(subprocess.Popen(command, env=env))  # noqa: S603
            print(_service_line(service, settings))
        if args.demo:
            from services.demo import load_demo

            try:
                print(asyncio.run(load_demo(settings)), flush=True)
            except (RuntimeError, OSError) as error:
                print(f"demo not loaded: {error}", file=sys.stderr, flush=True)
        print('play a resident: ./dev sms from +84912345678 "GIUP VNEID 15835"')
        print("press Ctrl-C to stop", flush=True)
        while not stopping.is_set():
            if any(child.poll() is not None for child in children):
                print("a service exited; stopping the others", file=sys.stderr)
                break
            time.sleep(0.2)
    finally:
        _stop_children(children)
        if nats_server is not None:
            nats_server.stop()
        print("stopped")
    return 0


def _notification_settings(settings: Settings) -> Any:
    from services.notifications.settings import NotificationSettings

    try:
        return NotificationSettings.from_env(os.environ, settings.var_dir)
    except ConfigError as error:
        print(f"handinhand: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_sms(args: argparse.Namespace) -> int:
    """Send a signed inbound SMS to the running notifications service, as the provider would."""
    import httpx

    from services.notifications.providers.inbound import inbound_form, post_inbound_sms

    settings = _settings()
    sms = _notification_settings(settings)
    base_url = args.url or f"http://{settings.host}:{settings.ports['notifications']}"
    try:
        answer = post_inbound_sms(
            base_url,
            inbound_form(args.phone, args.text),
            sms.webhook_token,
            public_url=sms.public_url,
        )
    except httpx.HTTPError as error:
        print(f"handinhand sms: {base_url} did not answer ({error}); is it up?", file=sys.stderr)
        return 1
    if answer.status_code != 200:
        print(f"handinhand sms: {answer.status_code} {answer.text}", file=sys.stderr)
        return 1
    print(f"received; the answer is in the notifications log and {base_url}/console/messages")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from shared.clock import SystemClock
    from shared.web.auth import Caller, Role, mint_token

    settings = _settings()
    caller = Caller(
        sub=args.sub,
        role=Role(args.role),
        scope=tuple(code for code in args.scope.split(",") if code),
        volunteer_id=args.volunteer_id,
    )
    if args.list_keys:
        # Key ids only, never a secret: what an operator needs to write the ring when rotating.
        for key in settings.token_keys.keys:
            print(key.kid, "(signs)" if key is settings.token_keys.signer else "(verifies)")
        return 0
    if args.revoke:
        return _revoke_token(sys.stdin.read(), args.reason)
    print(mint_token(settings.token_keys, caller, SystemClock().now(), timedelta(hours=args.hours)))
    return 0


def _revoke_token(text: str, reason: str) -> int:
    """What the console's "Revoke a token" does, from the server: the token (read from stdin,
    so it is in no shell history or process list) checked against the ring, its jti and exp
    appended as api_token.revoked in the console's log; the console's relay publishes it."""
    from services.console import handlers
    from shared.errors import DomainError
    from shared.events.base import Cause
    from shared.ids import uuid7
    from shared.web.auth import InvalidTokenError

    async def run(runtime: Any, store: Any) -> str:
        now = runtime.clock.now()
        token = handlers.pasted_token(runtime.settings.token_keys, text, now)
        command = handlers.revocation_of(token, revoked_by="cli", revoker_scope=(), reason=reason)
        async with store.transaction() as tx:
            await handlers.revoke_api_token(
                tx, command, now=now, cause=Cause(correlation_id=uuid7())
            )
        return token.jti

    try:
        jti = asyncio.run(_with_runtime("console", run))
    except InvalidTokenError as error:
        print(f"handinhand token --revoke: {error}", file=sys.stderr)
        return 2
    except DomainError as error:
        print(f"handinhand token --revoke: {error}", file=sys.stderr)
        return 1
    print(f"token {jti} revoked: every service refuses it once the console has published it")
    return 0


def cmd_account(args: argparse.Namespace) -> int:
    """Add a console account (the first admin, typically); the same phone again changes nothing.
    Or erase the account of a phone (`--yes` confirms)."""
    if args.action == "erase":
        return _erase_account(args)
    if not args.role or not args.name:
        print("handinhand account add: --role and --name are required", file=sys.stderr)
        return 2
    from services.console import handlers
    from services.console.domain.accounts import AddAccount
    from services.console.domain.errors import PhoneTakenError
    from services.console.settings import ConsoleSettings
    from shared.errors import DomainError
    from shared.events.base import Cause
    from shared.events.console import AccountRole
    from shared.ids import uuid7
    from shared.phones import mask_phone

    scope = tuple(code.strip() for code in args.scope.split(",") if code.strip())

    async def run(runtime: Any, store: Any) -> bool:
        key = ConsoleSettings.from_env(os.environ, runtime.settings).code_secret
        command = AddAccount(
            account_id=handlers.account_id_of(args.phone, key=key),
            role=AccountRole(args.role),
            name=args.name,
            phone=args.phone,
            scope=scope,
            volunteer_id=args.volunteer_id,
            added_by="cli",
        )
        async with store.transaction() as tx:
            added = await handlers.add_account(
                tx, command, now=runtime.clock.now(), cause=Cause(correlation_id=uuid7())
            )
        return added is not None

    try:
        added = asyncio.run(_with_runtime("console", run))
    except PhoneTakenError:
        added = False  # added before ids were keyed, or with another code secret: it is there
    except DomainError as error:
        print(f"handinhand account add: {error.field or 'input'}: {error}", file=sys.stderr)
        return 2
    shown = mask_phone(handlers.normalized(args.phone))
    if added:
        print(f"account added: {args.role} {args.name} ({shown})")
    else:
        print(f"an account with phone {shown} exists already: nothing changed")
    return 0


def _erase_account(args: argparse.Namespace) -> int:
    """Erase the account that signs in with `--phone`, as its erasure page does; asked again,
    no account has the phone any more and nothing happens."""
    from services.console import handlers
    from services.console.domain.accounts import EraseAccount
    from services.console.views import queries
    from shared.errors import DomainError
    from shared.events.base import Cause
    from shared.ids import uuid7
    from shared.phones import InvalidPhoneError, mask_phone

    try:
        phone = handlers.normalized(args.phone)
    except InvalidPhoneError as error:
        print(f"handinhand account erase: phone: {error}", file=sys.stderr)
        return 2

    async def run(runtime: Any, store: Any) -> bool | None:
        async with store.reader.connect() as conn:
            found = await queries.account_with_phone(conn, phone)
        if found is None:
            return None
        command = EraseAccount(account_id=found.account_id, confirmed=args.yes, erased_by="cli")
        async with store.transaction() as tx:
            erased: bool = await handlers.erase_account(
                tx, command, now=runtime.clock.now(), cause=Cause(correlation_id=uuid7())
            )
        return erased

    try:
        erased = asyncio.run(_with_runtime("console", run))
    except DomainError as error:
        print(f"handinhand account erase: {error.field or 'input'}: {error}", file=sys.stderr)
        return 2
    if erased is None:
        print(f"no account signs in with phone {mask_phone(phone)}: nothing erased")
    else:
        print(f"account of {mask_phone(phone)} erased: its name, phone and browsers are forgotten")
    return 0


async def _with_runtime(service: str, action: Any) -> Any:
    from shared.clock import SystemClock
    from shared.events import build_catalog
    from shared.runtime import Runtime

    runtime = Runtime(_settings(), _parts(service), build_catalog(), SystemClock())
    store = runtime.open_store()
    try:
        return await action(runtime, store)
    finally:
        await store.close()


def _subscriptions(runtime: Any) -> Any:
    """The service's consumers, from its typed context as its app builds it."""
    service = runtime.name
    context = importlib.import_module(f"services.{service}.service")
    built = getattr(context, service.capitalize()).assemble(
        runtime, *_service_settings(service, runtime.settings).values()
    )
    return _parts_module(service).work(built).subscriptions()


def _parts_module(service: str) -> Any:
    return importlib.import_module(f"services.{service}.parts")


def cmd_dlq(args: argparse.Namespace) -> int:
    from shared.bus.deadletters import by_name, list_parked, redrive

    services = [args.service] if args.service else list(SERVICES)
    failed = False
    for service in services:
        if args.action == "list":
            parked = asyncio.run(_with_runtime(service, lambda _r, store: list_parked(store)))
            for item in parked:
                print(
                    f"{service}\t{item.id}\t{item.consumer}\t{item.event_type or '-'}\t"
                    f"{item.attempts}\t{item.parked_at:%Y-%m-%d %H:%M}\t{item.error}"
                )
            if not parked:
                print(f"{service}: no parked messages")
        else:
            ids = None if args.all else args.ids

            async def run(runtime: Any, store: Any, ids: list[int] | None = ids) -> Any:
                return await redrive(store, by_name(_subscriptions(runtime)), ids)

            for outcome in asyncio.run(_with_runtime(service, run)):
                failed |= not outcome.ok
                print(f"{service}\t{outcome.id}\t{'redriven' if outcome.ok else outcome.error}")
    return 1 if failed else 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    from shared.store.rebuild import rebuild_read_models

    async def run(runtime: Any, store: Any) -> int:
        return await rebuild_read_models(store, runtime.parts.read_models)

    count = asyncio.run(_with_runtime(args.service, run))
    print(f"{args.service}: read models rebuilt from {count} events")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """Wrap every person's data key with the ring's first master key (HANDINHAND_DATA_KEYS),
    so the older master keys wrap nothing and can leave the ring."""

    async def run(_runtime: Any, store: Any) -> int | None:
        personal = store.personal
        if personal is None or personal.keys is None:
            return None
        async with store.begin() as conn:
            moved: int = await personal.keys.rewrap_all(conn)
        return moved

    unknown = [service for service in args.services if service not in SERVICES]
    if unknown:
        print(f"handinhand keys: no service {', '.join(unknown)}", file=sys.stderr)
        return 2
    newest = _settings().data_keys.wrapper.kid
    for service in args.services or SERVICES:
        moved = asyncio.run(_with_runtime(service, run))
        if moved is None:
            print(f"{service}: keeps no one's data keys")
        else:
            print(f"{service}: {moved} data keys rewrapped onto master key {newest}")
    return 0


def cmd_places(args: argparse.Namespace) -> int:
    """Load a province's villages and hamlets from CSV (code,name,kind,parent), all or none."""
    from services.scheduler.handlers.places import import_places_csv, load_sample_places
    from services.scheduler.memory import Memory

    if not args.sample and not args.file:
        print("handinhand places import: give a CSV file or --sample", file=sys.stderr)
        return 2
    text = "" if args.sample else Path(args.file).read_text(encoding="utf-8")

    async def run(_runtime: Any, store: Any) -> Any:
        memory = Memory()  # this command's own: a running scheduler sees the places soon after
        if args.sample:
            return await load_sample_places(store, memory=memory)
        return await import_places_csv(store, text, memory=memory)

    report = asyncio.run(_with_runtime("scheduler", run))
    for row in report.rejected:
        print(f"line {row.line}: {'; '.join(row.reasons)}", file=sys.stderr)
    if report.rejected:
        print(f"nothing imported: {len(report.rejected)} bad row(s)", file=sys.stderr)
        return 1
    print(f"imported {report.imported} places in communes {', '.join(report.communes) or '-'}")
    return 0


def cmd_asyncapi(_args: argparse.Namespace) -> int:
    from shared.asyncapi import render_asyncapi
    from shared.events import build_catalog

    sys.stdout.write(render_asyncapi(build_catalog()))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"bench.{args.what}")
    result: int = module.main(args.rest)
    return result


def cmd_drill(args: argparse.Namespace) -> int:
    from bench.drill import main as drill

    return drill(args.passed_on)


def _token_parser(commands: Any) -> None:
    token = commands.add_parser("token", help="mint an access token")
    token.add_argument("--role", choices=["admin", "coordinator", "volunteer"], default="admin")
    token.add_argument("--scope", default="", help="comma-separated province or commune codes")
    token.add_argument("--sub", default="cli")
    token.add_argument("--volunteer-id")
    token.add_argument("--hours", type=float, default=12.0)
    token.add_argument(
        "--list-keys", action="store_true", help="print the key ids of the ring instead"
    )
    token.add_argument(
        "--revoke",
        action="store_true",
        help="revoke the token read from stdin instead (as the console's /tokens page does)",
    )
    token.add_argument("--reason", default="", help="with --revoke: why, for the log")
    token.set_defaults(run=cmd_token)


def _account_parser(commands: Any) -> None:
    account = commands.add_parser(
        "account", help="add a console account (e.g. the first admin), or erase one"
    )
    account.add_argument("action", choices=["add", "erase"])
    account.add_argument("--role", choices=["admin", "coordinator", "volunteer"], help="for add")
    account.add_argument("--phone", required=True, help="e.g. 0912 345 678")
    account.add_argument("--name", help="for add")
    account.add_argument(
        "--yes", action="store_true", help="for erase: confirm (it cannot be brought back)"
    )
    account.add_argument("--scope", default="", help="comma-separated province or commune codes")
    account.add_argument("--volunteer-id", help="for a volunteer: their volunteer id")
    account.set_defaults(run=cmd_account)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="handinhand", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start NATS, migrate, and run the four services")
    up.add_argument("--demo", action="store_true", help="also load a demo commune and weekend")
    up.set_defaults(run=cmd_up)

    serve = commands.add_parser("serve", help="run one service")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=cmd_serve)

    migrate = commands.add_parser("migrate", help="migrate the services' databases")
    migrate.add_argument("services", nargs="*", metavar="SERVICE", help=", ".join(SERVICES))
    migrate.set_defaults(run=cmd_migrate)

    _token_parser(commands)

    _account_parser(commands)
    sms = commands.add_parser("sms", help="play a resident: send a signed inbound SMS")
    sms.add_argument("action", choices=["from"])
    sms.add_argument("phone", help="the sender, e.g. +84912345678")
    sms.add_argument("text", help='what they write, e.g. "GIUP VNEID 15835"')
    sms.add_argument("--url", help="the notifications service (default: this machine's)")
    sms.set_defaults(run=cmd_sms)

    dlq = commands.add_parser("dlq", help="list or redrive parked messages")
    dlq.add_argument("action", choices=["list", "redrive"])
    dlq.add_argument("service", nargs="?", choices=SERVICES)
    dlq.add_argument("ids", nargs="*", type=int)
    dlq.add_argument("--all", action="store_true")
    dlq.set_defaults(run=cmd_dlq)

    rebuild = commands.add_parser("rebuild", help="replay the event log into fresh read models")
    rebuild.add_argument("service", choices=SERVICES)
    rebuild.set_defaults(run=cmd_rebuild)

    keys = commands.add_parser("keys", help="rewrap people's data keys onto the newest master key")
    keys.add_argument("action", choices=["rewrap"])
    keys.add_argument("services", nargs="*", help=f"of {', '.join(SERVICES)}; all by default")
    keys.set_defaults(run=cmd_keys)

    places = commands.add_parser("places", help="import villages and hamlets from CSV")
    places.add_argument("action", choices=["import"])
    places.add_argument("file", nargs="?", help="CSV with code,name,kind,parent")
    places.add_argument("--sample", action="store_true", help="the demo's sample villages")
    places.set_defaults(run=cmd_places)

    asyncapi = commands.add_parser("asyncapi", help="print the AsyncAPI document of all events")
    asyncapi.set_defaults(run=cmd_asyncapi)

    bench = commands.add_parser("bench", help="run a benchmark: store, assign, sms, e2e, province")
    bench.add_argument("what", choices=["store", "assign", "sms", "e2e", "province"])
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(run=cmd_bench)

    drill = commands.add_parser(  # every argument, --help too, is bench/drill.py's
        "drill",
        help="fault drills: kill -9, NATS and PostgreSQL outages, under load",
        add_help=False,
    )
    drill.set_defaults(run=cmd_drill, passes_on=True)
    return top


def main(argv: list[str] | None = None) -> int:
    top = parser()
    args, passed_on = top.parse_known_args(argv)
    if passed_on and not getattr(args, "passes_on", False):
        top.error(f"unrecognized arguments: {' '.join(passed_on)}")
    args.passed_on = passed_on
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
