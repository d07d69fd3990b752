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
                # checks.shared.*: building blocks several checks use (trust paths, the resolver client)
                shared = module.startswith("checks.shared.")
                allowed = module == "checks.base" or module == own or module.startswith(own + ".") or contract or shared
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
            assert spec.key.startswith(f"{check.key_prefix()}."), spec.key
        assert check.key_prefix() == name or check.key_prefix().endswith(f".{name}"), check.key_prefix()


INTERFACES = ("cli.py", "cli_vulndb.py", "app.py", "scheduler.py", "oneoff.py", "demo.py", "exporter.py", "alerter.py")
INTERFACE_MODULES = (*(f"monitor.{name.removesuffix('.py')}" for name in INTERFACES), "monitor.api")
SQL_MODULES = ("sqlalchemy", "sqlalchemy.ext.asyncio", "sqlmodel", "monitor.store.tables", "monitor.store.engine")


def _interface_files() -> list[Path]:
    return [ROOT / "monitor" / name for name in INTERFACES] + sorted((ROOT / "monitor" / "api").rglob("*.py"))


def _is_under(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def test_interfaces_hold_no_engine_and_write_no_sql() -> None:
    """Interfaces → use cases → store: an interface reads through the Store and changes through a use case; it
    never holds an engine, builds a query or names a table."""
    for path in _interface_files():
        for module in imports_of(path):
            assert module not in SQL_MODULES, f"{path.relative_to(ROOT)} imports {module}"


def test_use_cases_never_import_an_interface() -> None:
    for path in (ROOT / "monitor" / "usecases").rglob("*.py"):
        for module in imports_of(path):
            assert not _is_under(module, INTERFACE_MODULES), f"{path.relative_to(ROOT)} imports {module}"


def test_the_store_imports_neither_interfaces_nor_use_cases() -> None:
    for path in (ROOT / "monitor" / "store").rglob("*.py"):
        for module in imports_of(path):
            forbidden = _is_under(module, (*INTERFACE_MODULES, "monitor.usecases"))
            assert not forbidden, f"{path.relative_to(ROOT)} imports {module}"


def test_time_is_read_from_the_clock() -> None:
    """Rules that read the wall-clock time take it from an injected Clock (monitor/clock.py), so tests can set
    it. (A monotonic reading only for a log line's duration, as in availability.py, is not a rule.)"""
    for path in [*(ROOT / "monitor" / "store").rglob("*.py"), *(ROOT / "monitor" / "usecases").rglob("*.py")]:
        text = path.read_text()
        for reading in ("datetime.now(", "time.time(", "datetime.utcnow("):
            assert reading not in text, f"{path.relative_to(ROOT)} reads the time itself ({reading})"
