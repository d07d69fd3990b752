"""The `posture` command: run the daemon, scan by hand, administer agencies, scopes, endpoints, tokens."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from checks import REGISTRY, default_names, names_for
from checks.base import DNS_NAMESERVERS
from monitor import __version__, cli_contacts, cli_discovery, cli_reports, cli_vulndb
from monitor.app import DAEMON_ROLES, Daemon
from monitor.display import printable, result_report, table
from monitor.errors import InvalidInput, UserError
from monitor.happy_eyeballs import CONNECT_PROBE_S, first_answering
from monitor.memory import limit_malloc_arenas
from monitor.models import DOMAIN_PORT, LANGUAGES, CheckResult, Target, asset_name
from monitor.oneoff import EXIT_ERROR, EXIT_FINDINGS, document, exit_code, parse_check_names, scan, target_kind
from monitor.scope import parse_host_port, parse_ip, parse_port
from monitor.scope_resolution import DnsResolver, HostUnresolvable, nameserver_addresses
from monitor.settings import Settings, SettingsError, check_configs, configure_logging, load_settings
from monitor.store.audit import Actor
from monitor.store.availability import describe
from monitor.store.registry import ROLES
from monitor.store.schema import SchemaOutdated
from monitor.store.store import Store
from monitor.usecases.check_settings import endpoint_config, stored_check_settings
from monitor.usecases.registration import DomainRequest, EndpointRequest, domain_name, registration_from

log = logging.getLogger("posture")
CLI_ACTOR = Actor(name="cli", source="cli")
PROFILE_HELP = "tls check: compliance profile to report on, repeatable (bsi_tr_02102_2, mozilla_intermediate)"
CA_FILE_HELP = "extra trust anchors (an internal PKI's root) for every check that judges certificates (tls, mail, web)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.exit(EXIT_ERROR, f"posture: usage error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="posture", description="Security posture monitoring for public agencies.")
    parser.add_argument("--version", action="version", version=f"posture-monitor {__version__}")
    parser.add_argument("--config", type=Path, help="TOML settings file (POSTURE_* variables override it)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    run_cmd = commands.add_parser("run", help="run the daemon")
    run_cmd.add_argument(
        "--role",
        choices=DAEMON_ROLES,
        default="all",
        help="all: everything in one process (default); scanner: run checks and publish alerts (any number, on "
        "PostgreSQL); api: serve the API, web UI and /metrics from the shared database",
    )

    scan_cmd = commands.add_parser("scan", help="scan one HOST[:PORT] or one domain now, without the database")
    scan_cmd.add_argument(
        "target", metavar="HOST[:PORT]|DOMAIN", help="port 443 when omitted; a bare name with domain checks is a domain"
    )
    scan_cmd.add_argument(
        "--checks",
        help=f"comma-separated, default the endpoint checks ({', '.join(names_for('endpoint'))}); domain checks: "
        f"{', '.join(names_for('domain'))}",
    )
    scan_cmd.add_argument("--json", action="store_true", help="print the JSON document (docs/scan-json.md)")
    scan_cmd.add_argument("--ports", metavar="SPEC", help="ports check: default, top:N, or a list like 22,80,8000-8100")
    scan_cmd.add_argument("--ca-file", metavar="PEM", help=CA_FILE_HELP)
    scan_cmd.add_argument("--profile", action="append", metavar="NAME", help=PROFILE_HELP)

    agency = commands.add_parser("agency", help="agencies").add_subparsers(dest="action", required=True)
    agency_add = agency.add_parser("add", help="add an agency")
    agency_add.add_argument("slug", help="2-40 of a-z, 0-9, '-'; used in MQTT topics")
    agency_add.add_argument("--name", required=True, help="full name, e.g. 'Stadt Oldenburg'")
    agency.add_parser("list", help="list agencies")
    agency_settings = agency.add_parser(
        "settings",
        help="show or change the check settings of all the agency's endpoints (between the global config and an "
        "endpoint's own)",
    )
    agency_settings.add_argument("slug")
    agency_settings.add_argument("--ca-file", metavar="PEM", help=CA_FILE_HELP)
    agency_settings.add_argument("--profile", action="append", metavar="NAME", help=PROFILE_HELP)
    agency_settings.add_argument(
        "--set", action="append", default=[], metavar="CHECK.KEY=VALUE", help="any check setting; VALUE is JSON or text"
    )
    agency_settings.add_argument(
        "--unset", action="append", default=[], metavar="CHECK[.KEY]", help="inherit the global setting again"
    )
    agency_settings.add_argument(
        "--alert-language", choices=LANGUAGES, help="the language of the agency's alerts (default: de)"
    )

    scope = commands.add_parser("scope", help="what each agency owns").add_subparsers(dest="action", required=True)
    scope_add = scope.add_parser("add", help="add a domain suffix or CIDR to an agency's scope")
    scope_add.add_argument("slug")
    scope_add.add_argument("value", metavar="DOMAIN|CIDR")
    scope_list = scope.add_parser("list", help="list scopes")
    scope_list.add_argument("slug", nargs="?")

    endpoint = commands.add_parser("endpoint", help="registered endpoints").add_subparsers(dest="action", required=True)
    endpoint_add = endpoint.add_parser("add", help="register HOST:PORT for an agency (inside its scope)")
    endpoint_add.add_argument("slug")
    endpoint_add.add_argument("target", metavar="HOST:PORT")
    endpoint_add.add_argument("--checks", help="comma-separated; default: every registered check")
    endpoint_add.add_argument("--interval", help="e.g. 30s, 15m, 1h, 1d (minimum 5s); default from settings")
    endpoint_add.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    endpoint_add.add_argument("--expect-ports", metavar="PORTS", help="declared open ports, e.g. 80,443")
    endpoint_add.add_argument("--ports", metavar="SPEC", help="ports check: default, top:N, or a list like 22,80")
    endpoint_add.add_argument("--ca-file", metavar="PEM", help="tls, web: extra trust anchors for this endpoint")
    endpoint_add.add_argument("--profile", action="append", metavar="NAME", help=PROFILE_HELP)
    endpoint_list = endpoint.add_parser("list", help="list endpoints")
    endpoint_list.add_argument("slug", nargs="?")
    endpoint_remove = endpoint.add_parser("remove", help="remove an endpoint by id")
    endpoint_remove.add_argument("id", type=int)

    domain = commands.add_parser("domain", help="registered domains").add_subparsers(dest="action", required=True)
    domain_add = domain.add_parser("add", help="register a domain for an agency (inside its domain scope)")
    domain_add.add_argument("slug")
    domain_add.add_argument("name", metavar="NAME")
    domain_add.add_argument(
        "--checks", help=f"comma-separated; default: every domain check ({', '.join(names_for('domain'))})"
    )
    domain_add.add_argument("--interval", help="e.g. 1h, 1d (minimum 5s); default from settings")
    domain_add.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    domain_list = domain.add_parser("list", help="list domains")
    domain_list.add_argument("slug", nargs="?")
    domain_remove = domain.add_parser("remove", help="remove a domain by id")
    domain_remove.add_argument("id", type=int)

    token = commands.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    token_create = token.add_parser("create", help="create a token; printed once, alone on the last line")
    token_create.add_argument("--role", required=True, choices=ROLES)
    token_create.add_argument("--agency", help="the agency of an agency token")

    db = commands.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="migrate the schema to this version")

    cli_vulndb.add_parser(commands)
    cli_discovery.add_parser(commands)
    cli_contacts.add_parser(commands)
    cli_reports.add_parser(commands)

    demo = commands.add_parser("demo", help="seed a loopback demo agency, start weak local servers, scan them")
    demo.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    database_url: str | None = None
    try:
        settings = load_settings(args.config)
        database_url = settings.database_url
        quiet = args.command not in ("run", "demo")  # admin commands print results, not progress logs
        configure_logging("WARNING" if quiet else settings.log_level)
        if args.command == "run":
            limit_malloc_arenas()
        return asyncio.run(_dispatch(args, settings))
    except SettingsError as err:
        for problem in err.problems:
            print(f"posture: config: {printable(problem)}", file=sys.stderr)
    except UserError as err:
        print(f"posture: error: {printable(err)}", file=sys.stderr)
    except SchemaOutdated as err:
        print(f"posture: error: {err}", file=sys.stderr)
    except (SQLAlchemyError, OSError) as err:
        print(f"posture: error: database: {printable(describe(err, database_url))}", file=sys.stderr)
    except BaseExceptionGroup as group:  # a daemon task failed: say so in one line if it was the database
        database = _database_error(group)
        if database is None:
            raise
        print(f"posture: error: database: {printable(describe(database, database_url))}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return EXIT_ERROR


def _database_error(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    for error in group.exceptions:
        found = _database_error(error) if isinstance(error, BaseExceptionGroup) else error
        if isinstance(found, SQLAlchemyError | OSError):
            return found
    return None


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        await Daemon(settings, role=args.role).run()
        return 0
    if args.command == "scan":
        return await _scan(args, settings)
    if args.command == "demo":
        from monitor.demo import run_demo

        return await run_demo(settings, args.duration)
    handler = _ADMIN[(args.command, args.action)]
    store = Store.open(settings.database_url, unreachable_after=settings.unreachable_after)
    try:
        if handler is not _db_upgrade:
            await store.ensure_current()
        return await handler(args, settings, store)
    finally:
        await store.close()


async def _scan(args: argparse.Namespace, settings: Settings) -> int:
    names = parse_check_names(args.checks, REGISTRY)
    configs = check_configs(settings, REGISTRY)
    overrides = _check_settings(args)
    for name, values in overrides.items():
        configs[name] = endpoint_config(configs[name], values)
    stored_check_settings(configs, overrides)  # what only this host can tell: the CA file parses
    if target_kind(names, REGISTRY) == "domain":
        target = Target(host=domain_name(args.target, "target"), port=DOMAIN_PORT)
        resources = {DNS_NAMESERVERS: nameserver_addresses(settings.dns_servers)}
        return _report(args, target, await scan(target, names, REGISTRY, configs, resources=resources))
    host, port = parse_host_port(args.target, default_port=443, field="target")
    if args.checks is None:
        names = list(default_names("endpoint", port, REGISTRY))
    target = Target(host=host, port=port)
    if parse_ip(host) is None:  # resolved as the daemon does: the system resolver, or POSTURE_DNS_SERVERS alone
        try:
            addresses = [a.compressed for a in await DnsResolver(settings.dns_servers).addresses(host)]
        except HostUnresolvable as err:
            if settings.dns_servers:
                print(f"posture: target: {printable(str(err))}", file=sys.stderr)
                return EXIT_FINDINGS
            addresses = []  # the checks report the name as unreachable, each in its result
        if addresses:
            address = await first_answering(addresses, port, CONNECT_PROBE_S) or addresses[0]
            target = Target(host=host, port=port, address=address, addresses=tuple(addresses))
    show_progress = sys.stderr.isatty() and not args.json

    def progress(name: str, index: int, total: int) -> None:
        print(f"\r\x1b[Kscanning {target.display}: {name} ({index}/{total})…", end="", file=sys.stderr, flush=True)

    results = await scan(target, names, REGISTRY, configs, progress if show_progress else None)
    if show_progress:
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    return _report(args, target, results)


def _report(args: argparse.Namespace, target: Target, results: list[CheckResult[Any]]) -> int:
    if args.json:
        print(json.dumps(document(target, results), indent=2))
    else:
        print(result_report(target.display, results))
    return exit_code(results)


Handler = Callable[[argparse.Namespace, Settings, Store], Awaitable[int]]


async def _agency_add(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    agency = await registration_from(settings, store).add_agency(args.slug, args.name, CLI_ACTOR)
    print(f"agency {agency.slug} added (id {agency.id})")
    return 0


async def _agency_list(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    agencies = await store.registry.list_agencies()
    print(table(["slug", "name", "endpoints"], [(a.slug, a.name, a.endpoints) for a in agencies]))
    return 0


async def _agency_settings(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    patch: dict[str, Any] = {}
    for text in args.unset:
        check, _, key = text.partition(".")
        if key:
            patch.setdefault(check, {})[key] = None
        else:
            patch[check] = None
    for text in args.set:
        check, key, value = _setting(text)
        patch.setdefault(check, {})[key] = value
    for check, values in _check_settings(args).items():
        patch.setdefault(check, {}).update(values)
    if patch or args.alert_language:
        record = await registration_from(settings, store).change_agency_settings(
            args.slug, patch or None, CLI_ACTOR, args.alert_language
        )
    else:
        record = await store.registry.agency(args.slug)
    lines = [
        f"{check}.{key} = {json.dumps(value)}"
        for check, values in sorted(record.check_settings.items())
        for key, value in sorted(values.items())
    ]
    print(f"alert_language = {json.dumps(record.alert_language)}")
    for line in lines or [f"agency {record.slug}: no check settings of its own (global ones apply)"]:
        print(printable(line))
    return 0


def _setting(text: str) -> tuple[str, str, Any]:
    name, sep, raw = text.partition("=")
    check, dot, key = name.strip().partition(".")
    if not sep or not dot or not check or not key:
        raise InvalidInput("set", f"{text!r} is not CHECK.KEY=VALUE, e.g. tls.full_scan_every_s=86400")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw  # plain text, e.g. a path
    return check, key.strip(), value


async def _scope_add(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    entry = await registration_from(settings, store).add_scope(args.slug, args.value, CLI_ACTOR)
    print(f"scope of {args.slug}: added {entry.kind} {entry.value}")
    return 0


async def _scope_list(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    scopes = await store.registry.list_scopes(args.slug)
    print(table(["agency", "kind", "value"], [(slug, e.kind, e.value) for slug, e in scopes]))
    return 0


async def _endpoint_add(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    host, port = parse_host_port(args.target, field="target")
    expected = [parse_port(p, "expect-ports") for p in args.expect_ports.split(",")] if args.expect_ports else []
    request = EndpointRequest(
        host,
        port,
        checks=[name.strip() for name in args.checks.split(",") if name.strip()] if args.checks is not None else None,
        interval=args.interval,
        labels=dict(_label(text) for text in args.label),
        expected_ports=expected,
        check_settings=_check_settings(args),
    )
    record = await registration_from(settings, store).register_endpoint(args.slug, request, CLI_ACTOR)
    print(f"endpoint {record.id} registered: {asset_name(record.host, record.port)} ({', '.join(record.checks)})")
    return 0


def _check_settings(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Per-check settings given on the command line: `--ports SPEC` (ports), `--ca-file PEM` (every check with a
    `ca_file` setting), `--profile` (tls)."""
    settings: dict[str, dict[str, Any]] = {}
    if getattr(args, "ports", None):
        settings["ports"] = {"ports": args.ports}
    if getattr(args, "ca_file", None):
        ca_file = Path(args.ca_file).resolve()
        if not ca_file.is_file():
            raise InvalidInput("ca-file", f"{args.ca_file}: no such file")
        # one agency PKI for every check that judges certificates (tls, mail, web): the same trust everywhere
        for name, check in REGISTRY.items():
            if "ca_file" in check.config_model.model_fields:
                settings.setdefault(name, {})["ca_file"] = str(ca_file)
    if getattr(args, "profile", None):
        settings.setdefault("tls", {})["profiles"] = list(args.profile)
    return settings


def _label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or len(key) > 64 or len(value) > 200:
        raise InvalidInput("label", f"{text!r} is not KEY=VALUE (key up to 64, value up to 200 characters)")
    return key.strip(), value.strip()


async def _endpoint_list(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    endpoints = await store.registry.list_endpoints(args.slug)
    rows = [(e.id, e.agency, e.name, ",".join(e.checks)) for e in endpoints]
    print(table(["id", "agency", "endpoint", "checks"], rows))
    return 0


async def _endpoint_remove(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    await registration_from(settings, store).remove_endpoint(args.id, None, CLI_ACTOR)
    print(f"endpoint {args.id} removed")
    return 0


async def _domain_add(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    request = DomainRequest(
        args.name,
        checks=[name.strip() for name in args.checks.split(",") if name.strip()] if args.checks is not None else None,
        interval=args.interval,
        labels=dict(_label(text) for text in args.label),
    )
    record = await registration_from(settings, store).register_domain(args.slug, request, CLI_ACTOR)
    print(f"domain {record.id} registered: {record.host} ({', '.join(record.checks)})")
    return 0


async def _domain_list(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    domains = await store.registry.list_endpoints(args.slug, "domain")
    print(table(["id", "agency", "domain", "checks"], [(d.id, d.agency, d.host, ",".join(d.checks)) for d in domains]))
    return 0


async def _domain_remove(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    await registration_from(settings, store).remove_endpoint(args.id, None, CLI_ACTOR, "domain")
    print(f"domain {args.id} removed")
    return 0


async def _token_create(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    token = (await store.access.create_token(args.role, args.agency, None, CLI_ACTOR)).token
    scope = f" for agency {args.agency}" if args.agency else ""
    print(f"new {args.role} token{scope}; it is shown only now:")
    print(token)
    return 0


async def _db_upgrade(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    before, after = await store.upgrade()
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    if before == after:
        print(f"database {where} is current (revision {after})")
    else:
        print(f"database {where} upgraded: {before or 'empty'} -> {after}")
    return 0


_ADMIN: dict[tuple[str, str], Handler] = {
    ("agency", "add"): _agency_add,
    ("agency", "list"): _agency_list,
    ("agency", "settings"): _agency_settings,
    ("scope", "add"): _scope_add,
    ("scope", "list"): _scope_list,
    ("endpoint", "add"): _endpoint_add,
    ("endpoint", "list"): _endpoint_list,
    ("endpoint", "remove"): _endpoint_remove,
    ("domain", "add"): _domain_add,
    ("domain", "list"): _domain_list,
    ("domain", "remove"): _domain_remove,
    ("token", "create"): _token_create,
    ("db", "upgrade"): _db_upgrade,
    ("vulndb", "update"): cli_vulndb.update,
    ("vulndb", "match"): cli_vulndb.match,
    ("discover", "run"): cli_discovery.run,
    ("contact", "add"): cli_contacts.add,
    ("contact", "list"): cli_contacts.list_contacts,
    ("contact", "remove"): cli_contacts.remove,
    ("report", "report"): cli_reports.report,
}
