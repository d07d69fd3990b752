"""`posture vulndb …` argument parsing, as wired into the `posture` parser by `add_parser`."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from monitor.cli_vulndb import add_parser


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="posture", exit_on_error=False)
    add_parser(root.add_subparsers(dest="command", required=True))
    return root


def test_update_and_match_arguments() -> None:
    args = parser().parse_args(["vulndb", "update", "--from", "/srv/feeds"])
    assert (args.command, args.action, args.from_dir, args.seed) == ("vulndb", "update", Path("/srv/feeds"), False)
    assert parser().parse_args(["vulndb", "update", "--seed"]).seed is True
    args = parser().parse_args(["vulndb", "match", "--banner", "220 (vsFTPd 2.3.4)", "--json"])
    assert (args.action, args.banner, args.cpe, args.json) == ("match", "220 (vsFTPd 2.3.4)", None, True)
    assert parser().parse_args(["vulndb", "match", "cpe:/a:apache:http_server:2.4.50"]).cpe.endswith("2.4.50")


def test_from_and_seed_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["vulndb", "update", "--seed", "--from", "/srv/feeds"])
    assert "not allowed with argument" in capsys.readouterr().err
