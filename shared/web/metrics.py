"""Prometheus text exposition: request counts, outbox lag, consumer lag, parked messages."""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.runtime import Runtime


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


async def render_metrics(runtime: Runtime, requests: RequestCounter) -> str:
    service = runtime.name
    lines = [
        "# HELP handinhand_http_requests_total HTTP requests by route and status.",
        "# TYPE handinhand_http_requests_total counter",
    ]
    for (method, route, status), count in sorted(requests.counts.items()):
        labels = _labels(service=service, method=method, route=route, status=status)
        lines.append(f"handinhand_http_requests_total{labels} {count}")
    outbox = -1
    if runtime.relay is not None:
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
    lines += [
        "# HELP handinhand_parked_messages Messages parked in the dead-letter table.",
        "# TYPE handinhand_parked_messages gauge",
        f"handinhand_parked_messages{_labels(service=service)} {await runtime.parked_count()}",
    ]
    return "\n".join(lines) + "\n"
