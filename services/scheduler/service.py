"""What one scheduler app holds, built once by `create_app` and handed to its consumers,
timers, workers and HTTP dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from services.scheduler.intake import HelpDesk
from services.scheduler.limits import HelpRequestLimits
from services.scheduler.memory import Memory
from services.scheduler.quota import HelpRequestQuota
from shared.runtime import Runtime


@dataclass(frozen=True)
class Scheduler:
    """The runtime, the public form's limits and quota, what the process remembers between
    transactions (folded sessions, villages), and the help desk that places requests in
    batches."""

    runtime: Runtime
    limits: HelpRequestLimits
    quota: HelpRequestQuota
    memory: Memory
    desk: HelpDesk

    @classmethod
    def assemble(cls, runtime: Runtime, limits: HelpRequestLimits) -> Scheduler:
        # The quota hides addresses and phones under the signing key: a rotation of token keys
        # starts the counts afresh, which only lifts the limits for one window.
        quota = HelpRequestQuota(runtime, limits, runtime.settings.token_keys.signer.secret)
        memory = Memory()
        return cls(
            runtime=runtime,
            limits=limits,
            quota=quota,
            memory=memory,
            desk=HelpDesk(runtime, quota, memory),
        )
