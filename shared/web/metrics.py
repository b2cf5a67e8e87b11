"""Prometheus text exposition: requests, readiness, outbox lag, consumer lag, parked messages,
and whatever the service itself measures (`ServiceParts.metrics`, e.g. the SMS queue)."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = logging.getLogger("handinhand.metrics")


class Metric(NamedTuple):
    """One value a service measures, rendered with its `service` label. `value` None: not
    known right now (the database is away), so the line is left out rather than made up."""

    name: str
    kind: Literal["gauge", "counter"]
    help: str
    value: float | None


class RequestCounter:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, int]] = Counter()

    def observe(self, method: str, route: str, status: int) -> None:
        self.counts[method, route, status] += 1


def _labels(**labels: str | int) -> str:
    inner = ",".join(
        f'{key}="{str(value).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for key, value in labels.items()
    )
    return "{" + inner + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


async def render_metrics(
    runtime: Runtime,
    requests: RequestCounter,
    service_metrics: Callable[[], Awaitable[list[Metric]]],
) -> str:
    """Everything a scrape shows. It answers while the database is away (within the readiness
    bound): what needs the database is then left out, and `handinhand_ready` says 0."""
    service = runtime.name
    lines = [
        "# HELP handinhand_http_requests_total HTTP requests by route and status.",
        "# TYPE handinhand_http_requests_total counter",
    ]
    for (method, route, status), count in sorted(requests.counts.items()):
        labels = _labels(service=service, method=method, route=route, status=status)
        lines.append(f"handinhand_http_requests_total{labels} {count}")
    database = await runtime.database_ready()
    ready = database and await runtime.nats_ready()
    lines += [
        "# HELP handinhand_ready 1 when the database and NATS answer (as /readyz), else 0.",
        "# TYPE handinhand_ready gauge",
        f"handinhand_ready{_labels(service=service)} {int(ready)}",
    ]
    outbox = -1
    if runtime.relay is not None and database:
        with contextlib.suppress(Exception):
            outbox = await runtime.relay.lag()
    lines += [
        "# HELP handinhand_outbox_lag_events Events committed but not yet published.",
        "# TYPE handinhand_outbox_lag_events gauge",
        f"handinhand_outbox_lag_events{_labels(service=service)} {outbox}",
        "# HELP handinhand_consumer_lag_messages Messages not yet handled by a consumer.",
        "# TYPE handinhand_consumer_lag_messages gauge",
    ]
    for consumer in runtime.consumers:
        lag = -1
        with contextlib.suppress(Exception):
            lag = await consumer.lag()
        labels = _labels(service=service, consumer=consumer.name)
        lines.append(f"handinhand_consumer_lag_messages{labels} {lag}")
    parked = None
    if database:
        with contextlib.suppress(Exception):  # gone since readiness: left out
            parked = await runtime.parked_count()
    measured = [
        Metric(
            "handinhand_parked_messages",
            "gauge",
            "Messages parked in the dead-letter table.",
            parked,
        )
    ]
    if database:
        try:
            measured += await service_metrics()
        except Exception as error:  # a scrape never fails for one query; the rest still shows
            log.debug("%s metrics not measured: %s", service, error)
    for metric in measured:
        lines += [f"# HELP {metric.name} {metric.help}", f"# TYPE {metric.name} {metric.kind}"]
        if metric.value is not None:
            lines.append(f"{metric.name}{_labels(service=service)} {_number(metric.value)}")
    return "\n".join(lines) + "\n"
