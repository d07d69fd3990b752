"""The web UI's domain pages over HTTP, on a real server and a real SQLite database: the list, registering through
the form (German by default, English on request), the mistakes in the reader's words, the domain's page, edit,
delete and re-scan; and another agency's domain, or an endpoint's id, is not found."""

from __future__ import annotations

from datetime import timedelta

from checks import REGISTRY
from monitor.cadence import Cadence
from monitor.usecases.registration import RegistrationRules, check_kind
from tests.fake_checks import DomainCheck, FakeConfig

DOMAIN_CHECK = DomainCheck.name
TEST_REGISTRY = {**REGISTRY, DOMAIN_CHECK: DomainCheck}


def test_the_rules_look_the_kinds_of_checks_up_in_the_registry_they_are_given() -> None:
    rules = RegistrationRules(
        Cadence(3600), {DOMAIN_CHECK: FakeConfig()}, ("reachability", DOMAIN_CHECK), timedelta(minutes=5),
        TEST_REGISTRY,
    )  # fmt: skip
    assert rules.names_for("domain") == [DOMAIN_CHECK] and rules.names_for("endpoint") == ["reachability"]
    assert check_kind(DOMAIN_CHECK, TEST_REGISTRY) == "domain"
    assert check_kind(DOMAIN_CHECK) == "endpoint"  # unknown to checks.REGISTRY: taken for an endpoint check
