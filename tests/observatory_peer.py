"""The MDN HTTP Observatory CLI (`.ci/install-observatory` puts it in .cache/observatory) run on a lab site.

It is given the site's loopback address as its host name, and the lab's CA through NODE_EXTRA_CA_CERTS (without it,
the certificate does not verify, as for an agency's internal PKI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCAN_JS = ROOT / ".cache/observatory/node_modules/@mdn/mdn-http-observatory/src/scan.js"
TIMEOUT_S = 60


@dataclass(frozen=True)
class PeerResult:
    grade: str
    score: int
    tests: dict[str, str]  # test name → expectation


def observatory_argv(host: str) -> list[str]:
    node = shutil.which("node")
    if node is None or not SCAN_JS.is_file():
        raise RuntimeError(
            "the MDN HTTP Observatory CLI is not installed: run `make deps` (.ci/install-observatory; needs Node.js 20 "
            "and npm, Debian packages nodejs and npm)"
        )
    return [node, str(SCAN_JS), host]


def observatory_env(ca_file: Path | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "NODE_EXTRA_CA_CERTS"}
    if ca_file is not None:
        env["NODE_EXTRA_CA_CERTS"] = str(ca_file)
    return env


def parse(output: str) -> PeerResult:
    document: dict[str, Any] = json.loads(output)
    if "scan" not in document:
        raise RuntimeError(f"the Observatory failed: {document}")
    tests = {name: str(test["result"]) for name, test in document["tests"].items()}
    return PeerResult(str(document["scan"]["grade"]), int(document["scan"]["score"]), tests)


def observatory(host: str, ca_file: Path | None) -> PeerResult:
    done = subprocess.run(
        observatory_argv(host), capture_output=True, text=True, timeout=TIMEOUT_S, env=observatory_env(ca_file),
        check=False,
    )  # fmt: skip
    return parse(done.stdout)
