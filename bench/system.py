"""The whole system as `handinhand up` runs it: a nats-server, every service as its own
`handinhand serve` process, and a local Twilio-compatible HTTP server as the SMS provider.
The end-to-end tests and `handinhand bench e2e` drive it only through HTTP and signed SMS
webhooks."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench.gateway import Gateway, Request, Response
from bench.messages_api import MessagesApi
from bench.natscluster import NatsCluster
from services.notifications.providers.signatures import twilio_signature
from shared.bus.server import NatsServer, free_port
from shared.clock import SystemClock
from shared.settings import SERVICES, Database
from shared.tokenkeys import TokenKeys
from shared.waiting import eventually
from shared.web.auth import Caller, Role, mint_token

TWILIO_SID = "AC00000000000000000000000000000000"
TWILIO_TOKEN = "e2e-twilio-auth-token"
SENDER = "+84900000001"

T = TypeVar("T")


@dataclass(frozen=True)
class Sms:
    to: str
    body: str


@dataclass
class Process:
    service: str
    port: int
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class System:
    """`provider_url` points the services at an SMS provider running elsewhere (the benchmark
    runs its own in another process); unset, `gateway` plays it in this event loop. `tuning`
    adds or overrides HANDINHAND_ variables of every service process. `cluster`: the services
    use these NATS nodes (all listed in HANDINHAND_NATS_URL) instead of a nats-server of the
    system's own."""

    root: Path
    database: Database
    instances: int = 1
    secret: str = field(default_factory=lambda: "system-" + secrets.token_hex(24))
    provider_url: str | None = None
    tuning: dict[str, str] = field(default_factory=dict)
    cluster: NatsCluster | None = None
    nats: NatsServer = field(init=False)
    gateway: Gateway = field(default_factory=Gateway, init=False)
    messages_api: MessagesApi = field(default_factory=lambda: MessagesApi(TWILIO_SID), init=False)
    processes: dict[str, list[Process]] = field(default_factory=dict, init=False)
    http: httpx.AsyncClient = field(init=False)
    _sids: itertools.count[int] = field(default_factory=itertools.count, init=False)

    async def start_all(self) -> None:
        """As `handinhand up` does: NATS, migrations once, then every service process."""
        if self.cluster is None:
            self.nats = NatsServer(self.root / "nats", log_file=self.root / "nats.log")
            await self.nats.start_async()
        else:
            await self.cluster.start_async()
        if self.provider_url is None:
            self.gateway.handler = self._provider
            await self.gateway.start()
        self.http = httpx.AsyncClient(timeout=10)
        for service in SERVICES:
            self.processes[service] = [Process(service, free_port()) for _ in range(self.instances)]
        await self.migrate()
        for process in self.all_processes():
            self.launch(process)
        for process in self.all_processes():
            await self.wait_ready(process)

    def all_processes(self) -> list[Process]:
        return [p for service in SERVICES for p in self.processes[service]]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HANDINHAND_")}
        notifications = self.processes["notifications"][0]
        env |= {
            "HANDINHAND_VAR_DIR": str(self.root / "var"),
            "HANDINHAND_NATS_URL": self.nats_url,
            "HANDINHAND_TOKEN_SECRET": self.secret,
            "HANDINHAND_LOG_FORMAT": "json",
            "HANDINHAND_SMS_PROVIDER": "twilio",
            "HANDINHAND_TWILIO_BASE_URL": self.provider_url or self.gateway.url,
            "HANDINHAND_TWILIO_ACCOUNT_SID": TWILIO_SID,
            "HANDINHAND_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "HANDINHAND_TWILIO_FROM": SENDER,
            "HANDINHAND_SMS_PUBLIC_URL": notifications.url,
            "HANDINHAND_VOLUNTEERS_PUBLIC_URL": self.processes["volunteers"][0].url,
            "HANDINHAND_SMS_QUIET_HOURS": "none",
            "HANDINHAND_PLAN_DELAY_SECONDS": "0.5",
        }
        for service in SERVICES:
            # where the console finds each service (its first instance), and its own address
            env[f"HANDINHAND_{service.upper()}_URL"] = self.processes[service][0].url
            if self.database.is_postgres:
                env[f"HANDINHAND_{service.upper()}_DATABASE_URL"] = self.database.url
                env[f"HANDINHAND_{service.upper()}_DATABASE_SCHEMA"] = (
                    f"{self.database.schema}_{service}"
                )
        return env | self.tuning

    @property
    def nats_url(self) -> str:
        return self.cluster.url if self.cluster is not None else self.nats.url

    def launch(self, process: Process) -> None:
        log = (self.root / f"{process.service}-{process.port}.log").open("ab")
        process.popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli",
                "serve",
                process.service,
                "--port",
                str(process.port),
            ],
            env=self.env(),
            stdout=log,
            stderr=log,
        )
        log.close()

    async def migrate(self) -> None:
        """What `up` does before the services start."""
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.cli", "migrate"],
            env=self.env(),
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()

    async def wait_ready(self, process: Process) -> None:
        async def ready() -> int:
            assert process.popen is not None
            if process.popen.poll() is not None:
                log = (self.root / f"{process.service}-{process.port}.log").read_text()
                raise AssertionError(f"{process.service} exited:\n{log[-3000:]}")
            try:
                return (await self.http.get(f"{process.url}/readyz")).status_code
            except httpx.HTTPError:
                return 0

        await eventually(ready, lambda status: status == 200, timeout=60, every=0.1)

    def kill(self, service: str, instance: int = 0) -> None:
        """SIGKILL: no shutdown hooks, as in a power cut of that process."""
        process = self.processes[service][instance]
        assert process.popen is not None
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait()

    def alive(self, service: str) -> list[int]:
        """The instances of `service` whose process runs now."""
        return [
            n
            for n, process in enumerate(self.processes[service])
            if process.popen is not None and process.popen.poll() is None
        ]

    async def restart(self, service: str, instance: int = 0) -> None:
        process = self.processes[service][instance]
        self.launch(process)
        await self.wait_ready(process)

    async def stop(self) -> None:
        for process in self.all_processes():
            if process.popen is not None and process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.all_processes():
            if process.popen is not None:
                try:
                    await asyncio.to_thread(process.popen.wait, 20)
                except subprocess.TimeoutExpired:
                    process.popen.kill()
        await self.http.aclose()
        if self.provider_url is None:
            await self.gateway.stop()
        await (self.nats if self.cluster is None else self.cluster).stop_async()

    # --- talking to it -------------------------------------------------------------------

    def url(self, service: str, instance: int = 0) -> str:
        return self.processes[service][instance].url

    def token(self, role: Role = Role.ADMIN, scope: tuple[str, ...] = ()) -> dict[str, str]:
        """A bearer token header for this system's secret."""
        caller = Caller(sub="system", role=role, scope=scope)
        value = mint_token(
            TokenKeys.of_one_secret(self.secret), caller, SystemClock().now(), timedelta(hours=1)
        )
        return {"Authorization": f"Bearer {value}"}

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        auth: dict[str, str] | None = None,
        instance: int = 0,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {**(auth if auth is not None else self.token()), **kwargs.pop("headers", {})}
        return await self.http.request(
            method, f"{self.url(service, instance)}{path}", headers=headers, **kwargs
        )

    async def text(self, sender: str, body: str, instance: int = 0) -> httpx.Response:
        """A resident or volunteer sends an SMS: the provider calls our signed webhook."""
        form = {
            "MessageSid": f"SMin{next(self._sids):030d}",
            "AccountSid": TWILIO_SID,
            "From": sender,
            "To": SENDER,
            "Body": body,
        }
        public = self.processes["notifications"][0].url + "/sms/inbound"
        signature = twilio_signature(public, form, TWILIO_TOKEN)
        return await self.http.post(
            f"{self.url('notifications', instance)}/sms/inbound",
            data=form,
            headers={"X-Twilio-Signature": signature},
        )

    async def lags(self) -> list[float]:
        """Outbox and consumer lags of every process, from their /metrics."""
        found: list[float] = []
        for process in self.all_processes():
            text = (await self.http.get(f"{process.url}/metrics")).text
            found.extend(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith(("handinhand_outbox_lag_events", "handinhand_consumer_lag"))
            )
        return found

    async def settled(self) -> None:
        """Wait until every event is published and handled, and no SMS is left to send:
        only then may a test say something happened exactly once."""

        async def quiet() -> tuple[list[float], int]:
            before = len(self.gateway.requests)
            lags = await self.lags()
            await asyncio.sleep(0.5)
            return lags, len(self.gateway.requests) - before

        await eventually(
            quiet, lambda found: all(lag == 0 for lag in found[0]) and found[1] == 0, timeout=60
        )

    def sent(self, to: str | None = None) -> list[Sms]:
        """Every SMS handed to the provider, in order."""
        sent = [
            Sms(to=form["To"], body=form["Body"])
            for form in (
                r.form()
                for r in self.gateway.requests
                if r.method == "POST" and r.path.endswith("Messages.json")
            )
        ]
        return [s for s in sent if to is None or s.to == to]

    async def _provider(self, request: Request) -> Response:
        """Twilio's Messages API: sends are kept, and looked up the way Twilio lists them."""
        return await self.messages_api.answer(request)
