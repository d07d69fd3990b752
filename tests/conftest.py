"""Shared fixtures: throwaway databases, free loopback ports, the `posture` command in a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.cli import main
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade

ROOT = Path(__file__).resolve().parent.parent
POSTURE = [sys.executable, "-m", "monitor"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/posture.db"


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(sqlite_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@dataclass
class Posture:
    """The real `posture` command, run as a subprocess with its own database."""

    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str, timeout: float = 60) -> CliResult:
        done = subprocess.run(
            [*POSTURE, *args], env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=timeout
        )
        return CliResult(done.returncode, done.stdout, done.stderr)


@dataclass
class InProcessPosture(Posture):
    """The same `main()` called in this process: the exit code and both streams, without interpreter start-up."""

    def __call__(self, *args: str, timeout: float = 60) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.cwd)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(list(args))
                except SystemExit as exit_:
                    code = int(exit_.code or 0)
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            os.chdir(saved_cwd)
        return CliResult(code, out.getvalue(), err.getvalue())


def posture_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTURE_")}
    env.update(POSTURE_DATABASE_URL=database_url, POSTURE_HTTP_ADDR="127.0.0.1:0", PYTHONPATH=str(ROOT), **extra)
    return env


@pytest.fixture
def posture(tmp_path: Path, sqlite_url: str) -> Posture:
    return InProcessPosture(posture_env(sqlite_url), tmp_path)


@pytest.fixture
def posture_subprocess(tmp_path: Path, sqlite_url: str) -> Posture:
    return Posture(posture_env(sqlite_url), tmp_path)


# --- PostgreSQL: the machine's server when there is one, else a throwaway cluster -------------------------


def _server_answers(dsn: str) -> bool:
    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(dsn, timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


def _pg_binary(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: install the Debian package postgresql (`make deps`)")
    return path


@dataclass
class Cluster:
    """A PostgreSQL cluster of the test's own on a free loopback port: it may be stopped and started again."""

    workdir: Path
    port: int
    run_as: list[str]

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        data = str(self.workdir / "data")
        subprocess.run([*self.run_as, _pg_binary("pg_ctl"), "-D", data, *args], check=True, capture_output=True)

    def start(self) -> None:
        log = str(self.workdir / "log")
        self.pg_ctl("-l", log, "-w", "start", "-o", f"-h 127.0.0.1 -p {self.port} -k {self.workdir}")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "stop")


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """initdb, start; stop and delete afterwards. Never the machine's own server."""
    workdir = Path(tempfile.mkdtemp(prefix="posture-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root; the postgres system user comes with the package
        shutil.chown(workdir, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(workdir, free_port(), run_as)
    subprocess.run(
        [*run_as, _pg_binary("initdb"), "-D", str(workdir / "data"), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL server for tests: POSTURE_TEST_PG_DSN, the local one, or a throwaway cluster."""
    configured = os.environ.get("POSTURE_TEST_PG_DSN")
    if configured:
        yield configured
        return
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if not os.environ.get("POSTURE_TEST_PG_THROWAWAY") and _server_answers(local):
        yield local
        return
    with throwaway_cluster() as cluster:
        yield cluster.dsn


@pytest.fixture
async def postgres_url(postgres_admin_dsn: str) -> AsyncIterator[str]:
    """A fresh database for one test, dropped afterwards; as an SQLAlchemy asyncpg URL."""
    name = f"posture_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = postgres_admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(autouse=True)
def _no_operator_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the documented defaults, whatever the developer's shell exports."""
    for name in [k for k in os.environ if k.startswith("POSTURE_") and not k.startswith("POSTURE_TEST_")]:
        monkeypatch.delenv(name)
