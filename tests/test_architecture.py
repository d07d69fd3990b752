"""The rooms keep to their doors: import rule, finding catalogue, documented files."""

from __future__ import annotations

import ast
from pathlib import Path

from checks import REGISTRY
from monitor.catalogue import all_specs, render_markdown

ROOT = Path(__file__).resolve().parent.parent


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_checks_import_only_the_models_and_the_check_base() -> None:
    registry = ROOT / "checks" / "__init__.py"  # the registry imports every check; nothing else may
    for path in (ROOT / "checks").rglob("*.py"):
        own = ".".join(path.relative_to(ROOT).parts[:2]) if path.parent != ROOT / "checks" else path.stem
        for module in imports_of(path):
            if module.startswith("monitor"):
                assert module == "monitor.models", f"{path.relative_to(ROOT)} imports {module}"
            elif module.startswith("checks.") and path != registry:
                # a check reads a peer's details as that peer's published details model (checks.<peer>.models)
                contract = module.count(".") == 2 and module.endswith(".models")
                allowed = module == "checks.base" or module == own or module.startswith(own + ".") or contract
                assert allowed, f"{path.relative_to(ROOT)} imports {module}: checks share checks.base and models"


def test_the_daemon_reaches_concrete_checks_only_through_the_registry() -> None:
    for path in (ROOT / "monitor").rglob("*.py"):
        for module in imports_of(path):
            if module.startswith("checks."):
                assert module == "checks.base", f"{path.relative_to(ROOT)} imports {module}"


def test_the_finding_catalogue_document_is_current() -> None:
    assert (ROOT / "docs" / "findings.md").read_text() == render_markdown(), "run `make docs`"


def test_catalogue_keys_are_unique_and_well_formed() -> None:
    keys = [spec.key for specs in all_specs().values() for spec in specs]
    assert len(keys) == len(set(keys))
    for key in keys:
        assert key == key.lower() and key.count(".") >= 1 and " " not in key


def test_every_check_names_itself_in_the_registry() -> None:
    for name, check in REGISTRY.items():
        assert check.name == name
        for spec in check.findings:
            assert spec.key.startswith(f"{name}."), spec.key
