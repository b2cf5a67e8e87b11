"""deploy/prometheus/alerts.yml is a set of complete Prometheus rules, it watches the trouble
the services show, and every metric it uses is on a running service's /metrics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import yaml

from shared.settings import SERVICES, Settings
from tests.support.services import service_client
from tests.support.waiting import eventually

RULES = Path(__file__).parents[2] / "deploy" / "prometheus" / "alerts.yml"
# Prometheus's own series, not ours: whether the last scrape of a target worked.
PROMETHEUS_OWN = {"up"}
PROMQL_WORDS = {"max", "min", "sum", "by", "on", "and", "or", "unless", "deriv", "increase"}
_LABEL_LISTS = re.compile(r"\b(?:by|on|without|ignoring)\s*\([^)]*\)")
_SELECTORS = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_NAMES = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def metrics_used(expr: str) -> set[str]:
    """The series an expression reads: every name that is not PromQL, a label or a matcher."""
    bare = _SELECTORS.sub(" ", _LABEL_LISTS.sub(" ", expr))
    return set(_NAMES.findall(bare)) - PROMQL_WORDS


def test_every_rule_has_a_name_an_expression_a_severity_and_a_summary() -> None:
    found = rules()
    names = [rule["alert"] for rule in found]

    assert len(set(names)) == len(names)
    for rule in found:
        assert re.fullmatch(r"HandInHand[A-Z][A-Za-z]+", rule["alert"])
        assert isinstance(rule["expr"], str)
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s"))


def test_the_rules_watch_parked_messages_lags_sms_and_services_down() -> None:
    used = set().union(*(metrics_used(rule["expr"]) for rule in rules()))

    assert used >= {
        "up",
        "handinhand_ready",
        "handinhand_parked_messages",
        "handinhand_outbox_lag_events",
        "handinhand_consumer_lag_messages",
        "handinhand_sms_stuck_sending_messages",
        "handinhand_sms_failed_messages_total",
    }


async def test_every_metric_the_rules_use_is_on_a_running_services_metrics(
    settings: Settings,
) -> None:
    exposed: set[str] = set()
    for service in SERVICES:
        # The consumers' lag shows once they are subscribed; the console hears nobody yet.
        shown = "handinhand_ready" if service == "console" else "handinhand_consumer_lag_messages{"

        def showing(response: httpx.Response, shown: str = shown) -> bool:
            return shown in response.text

        async with service_client(service, settings) as client:
            text = (await eventually(lambda: client.get("/metrics"), showing)).text
        exposed |= {
            re.split(r"[{ ]", line, maxsplit=1)[0]
            for line in text.splitlines()
            if line and not line.startswith("#")
        }
    used = set().union(*(metrics_used(rule["expr"]) for rule in rules()))

    assert used - PROMETHEUS_OWN <= exposed
    assert "handinhand_sms_stuck_sending_messages" in exposed
