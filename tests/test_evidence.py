"""The evidence readers see: translated labels, nested values as tables, the server's words marked and escaped."""

from __future__ import annotations

import ast
import inspect

from sslyze.mozilla_tls_profile import tls_config_checker

from checks.tls import TlsCheck
from checks.tls.profiles import MOZILLA_REQUIREMENTS, load_profile

BSI = "tls.compliance.bsi_tr_02102_2"
MOZILLA = "tls.compliance.mozilla_intermediate"


def test_every_bsi_requirement_has_a_german_text() -> None:
    for requirement in load_profile().requirements:
        assert requirement.text_de.strip() and requirement.text_de != requirement.text, requirement.id
        assert TlsCheck.requirement_text(BSI, requirement.id, "de") == requirement.text_de
        assert TlsCheck.requirement_text(BSI, requirement.id, "en") == requirement.text


def test_every_mozilla_rule_sslyze_can_report_has_texts() -> None:
    tree = ast.parse(inspect.getsource(tls_config_checker))
    names = {
        target.slice.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant)
    }
    assert "tls_versions" in names
    assert names - MOZILLA_REQUIREMENTS.keys() == set()
    for name in names:
        assert TlsCheck.requirement_text(MOZILLA, name, "de") != TlsCheck.requirement_text(MOZILLA, name, "en")
