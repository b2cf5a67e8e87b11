"""`handinhand up --demo`: a small Thanh Hóa weekend loaded through the services' own HTTP
APIs (as a coordinator would), so a newcomer sees assignments proposed and SMS written."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import date, timedelta
from importlib import resources
from typing import Any

import httpx

from shared.clock import VIETNAM, SystemClock
from shared.settings import Settings
from shared.web.auth import Caller, Role, mint_token

COMMUNE = "15835"  # Xã Thiệu Trung, Thanh Hóa
VOLUNTEERS = [
    ("Lê Văn An", "0912345601", ("vneid_activation", "online_public_services")),
    ("Nguyễn Thị Bình", "0912345602", ("vneid_activation", "cashless_payment")),
    ("Trần Minh Châu", "0912345603", ("smartphone_basics", "screen_reader_help")),
    ("Phạm Thu Dung", "0912345604", ("online_public_services", "vneid_activation")),
    ("Hoàng Văn Em", "0912345605", ("cashless_payment", "smartphone_basics")),
    ("Vũ Thị Giang", "0912345606", ("vneid_activation", "smartphone_basics")),
]
DEMO_COORDINATOR = ("Đỗ Thị Hạnh", "0912 345 699")  # signs in to the console
RESIDENTS = [
    ("Bà Lê Thị Hoa", "0987654301", ("vneid_activation",), 1948),
    ("Ông Nguyễn Văn Khánh", "0987654302", ("online_public_services",), 1952),
    ("Bà Trịnh Thị Lan", "0987654303", ("cashless_payment", "vneid_activation"), 1960),
]


def next_saturday(today: date) -> date:
    """The Saturday at least three days ahead, so every reminder is still to come."""
    ahead = (5 - today.weekday()) % 7
    return today + timedelta(days=ahead if ahead >= 3 else ahead + 7)


class Demo:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        token = mint_token(
            settings.token_keys,
            Caller(sub="demo-coordinator", role=Role.ADMIN),
            SystemClock().now(),
            timedelta(hours=1),
        )
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = httpx.AsyncClient(timeout=30)

    def url(self, service: str, path: str) -> str:
        return f"http://{self.settings.host}:{self.settings.ports[service]}{path}"

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for service in self.settings.ports:
            while True:
                try:
                    if (await self.http.get(self.url(service, "/readyz"))).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service} is not ready; demo not loaded")
                await asyncio.sleep(0.2)

    async def post(
        self, service: str, path: str, key: str, headers: dict[str, str] | None = None, **body: Any
    ) -> Any:
        response = await self.http.post(
            self.url(service, path),
            headers={**self.headers, "Idempotency-Key": key, **(headers or {})},
            **body,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"demo: {path} answered {response.status_code}: {response.text}")
        return response.json()

    async def load(self) -> str:
        await self.wait_ready()
        saturday = next_saturday(SystemClock().now().astimezone(VIETNAM).date())
        csv = resources.files("services.scheduler").joinpath("places_sample.csv").read_text()
        await self.post(
            "scheduler",
            "/places/import",
            "demo-places",
            content=csv.encode(),
            headers={"Content-Type": "text/csv"},
        )
        group = await self.post(
            "volunteers",
            "/groups",
            "demo-group",
            json={"name": "Tổ CNSCĐ Thiệu Trung", "commune_code": COMMUNE},
        )
        for name, phone, skills in VOLUNTEERS:
            await self.post(
                "volunteers",
                "/volunteers",
                f"demo-volunteer-{phone}",
                json={
                    "group_id": group["group_id"],
                    "consent_given": True,
                    "name": name,
                    "phone": phone,
                    "village": "Thôn 1",
                    "skills": list(skills),
                    "availability": {"saturday": ["morning", "afternoon"], "sunday": ["morning"]},
                },
            )
        for day, hours in (
            (saturday, ("08:00:00", "11:00:00")),
            (saturday + timedelta(days=1), ("08:00:00", "11:00:00")),
        ):
            await self.post(
                "scheduler",
                "/sessions",
                f"demo-session-{day}",
                json={
                    "commune_code": COMMUNE,
                    "venue": {
                        "name": "Nhà văn hóa thôn 1",
                        "address": "Thôn 1, xã Thiệu Trung",
                        "village_code": "15835-01",
                    },
                    "local_date": day.isoformat(),
                    "start_local": hours[0],
                    "end_local": hours[1],
                    "topics": ["vneid_activation", "online_public_services", "cashless_payment"],
                    "capacity": 15,
                    "volunteers_needed": 2,
                },
            )
        for name, phone, topics, born in RESIDENTS:
            await self.post(
                "scheduler",
                "/help-requests",
                f"demo-resident-{phone}-{saturday}",
                json={
                    "resident_name": name,
                    "phone": phone,
                    "commune_code": COMMUNE,
                    "topics": list(topics),
                    "birth_year": born,
                    "elderly": True,
                    "consent_given": True,
                },
            )
        await self.http.aclose()
        await add_demo_coordinator(self.settings)
        return (
            f"demo loaded: {len(VOLUNTEERS)} volunteers in Thiệu Trung, sessions on {saturday} "
            f"and the day after, {len(RESIDENTS)} residents booked; the SMS appear in the "
            f"notifications log (console provider) and at /console/messages\n"
            f"console: {self.url('console', '/')} sign in as the demo coordinator "
            f"{DEMO_COORDINATOR[1]} (the code shows in the notifications log)"
        )


async def add_demo_coordinator(settings: Settings) -> None:
    """The console has no API of its own: the account is added as `handinhand account add`
    does, in the console's log; its relay publishes it."""
    from services.console import handlers
    from services.console.domain.accounts import AddAccount
    from services.console.domain.errors import PhoneTakenError
    from services.console.parts import PARTS
    from services.console.settings import ConsoleSettings
    from shared.events import build_catalog
    from shared.events.base import Cause
    from shared.events.console import AccountRole
    from shared.ids import uuid7
    from shared.runtime import Runtime

    name, phone = DEMO_COORDINATOR
    runtime = Runtime(settings, PARTS, build_catalog(), SystemClock())
    key = ConsoleSettings.from_env(os.environ, settings).code_secret
    store = runtime.open_store()
    command = AddAccount(
        account_id=handlers.account_id_of(phone, key=key),
        role=AccountRole.COORDINATOR,
        name=name,
        phone=phone,
        scope=(COMMUNE,),
        added_by="demo",
    )
    try:
        async with store.transaction() as tx:
            await handlers.add_account(
                tx, command, now=runtime.clock.now(), cause=Cause(correlation_id=uuid7())
            )
    except PhoneTakenError:
        pass  # added before, under another id (before ids were keyed): it is there
    finally:
        await store.close()


async def load_demo(settings: Settings) -> str:
    return await Demo(settings).load()
