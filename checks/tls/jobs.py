"""sslyze's scan commands on one server, run as jobs on threads of our own, each command's outcome kept on its own.

sslyze's `Scanner` hands back a server's results only when every command has ended and cannot be stopped: one
command that a legacy server breaks, or a deadline, would cost every other command's result. Here the jobs of
each command (one network connection each, sslyze's plugin contract) run on `connections` daemon threads; a
command's result is built in the thread that finishes its last job and handed to the event loop at once. When
the caller stops waiting (deadline, cancellation) the threads take no new job; a job already running ends within
its own network timeout and its result is dropped. Daemon threads never keep the process alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from traceback import TracebackException
from typing import Any, TypeVar

from nassl.ssl_client import ClientCertificateRequested
from sslyze.errors import ConnectionToServerTimedOut, ServerRejectedTlsHandshake, TlsHandshakeTimedOut
from sslyze.plugins.plugin_base import ScanCommandWrongUsageError, ScanJob, ScanJobResult
from sslyze.plugins.scan_commands import ScanCommand, ScanCommandsRepository
from sslyze.scanner.models import get_scan_command_attempt_cls
from sslyze.scanner.scan_command_attempt import (
    ScanCommandAttempt,
    ScanCommandAttemptStatusEnum,
    ScanCommandErrorReasonEnum,
)
from sslyze.server_connectivity import ServerConnectivityInfo

from checks.tls.closing import RunSockets, owned_by

T = TypeVar("T")
Attempt = ScanCommandAttempt[Any]  # sslyze's outcome of one scan command: completed (with its result) or error


def in_daemon_thread(function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """`function(*args)` on a new daemon thread; its outcome arrives on the calling loop (dropped if nobody waits)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def work() -> None:
        try:
            value, error = function(*args), None
        except Exception as err:
            value, error = None, err
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=work, name=f"tls-{getattr(function, '__name__', 'job')}", daemon=True).start()
    return future


@dataclass
class _Command:
    command: ScanCommand
    jobs_left: int
    results: list[ScanJobResult] = field(default_factory=list)


class _Run:
    """What the worker threads of one server's run share with the coroutine that waits for it."""

    def __init__(self, server: ServerConnectivityInfo, loop: asyncio.AbstractEventLoop, sockets: RunSockets) -> None:
        self.server = server
        self.loop = loop
        self.sockets = sockets
        self.stop = threading.Event()
        self.jobs: queue.SimpleQueue[tuple[_Command, ScanJob]] = queue.SimpleQueue()
        self.finished: asyncio.Queue[tuple[ScanCommand, Attempt]] = asyncio.Queue()
        self._lock = threading.Lock()

    def work(self) -> None:
        owned_by(self.sockets, self._work)()

    def _work(self) -> None:
        while not self.stop.is_set():
            try:
                command, job = self.jobs.get_nowait()
            except queue.Empty:
                return
            try:
                outcome = ScanJobResult(_return_value=job.function_to_call(*job.function_arguments), _exception=None)
            except Exception as err:
                outcome = ScanJobResult(_return_value=None, _exception=err)
            if self.stop.is_set():
                return
            with self._lock:
                command.results.append(outcome)
                command.jobs_left -= 1
                last = command.jobs_left == 0
            if last:
                self.post(command.command, command_attempt(command.command, self.server, command.results))

    def post(self, command: ScanCommand, attempt: Attempt) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
            self.loop.call_soon_threadsafe(self.finished.put_nowait, (command, attempt))


async def run_commands(
    server: ServerConnectivityInfo,
    commands: Iterable[ScanCommand],
    extra_arguments: Any,
    *,
    connections: int,
    stop_at: float,
    sockets: RunSockets,
) -> dict[ScanCommand, Attempt]:
    """The outcome of each command that ended before `stop_at` (loop time); the others are absent. The sockets the
    jobs open belong to `sockets`, which the caller cuts when its run ends."""
    run = _Run(server, asyncio.get_running_loop(), sockets)
    commands = list(commands)
    attempts: dict[ScanCommand, Attempt] = {}
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(stop_at):
                # making the jobs reads trust stores and cipher tables: CPU work that stays off the event loop
                refused, queued = await in_daemon_thread(_queue_jobs, run, commands, extra_arguments)
                attempts.update(refused)
                for index in range(min(connections, queued)):
                    threading.Thread(target=run.work, name=f"tls-job-{index}", daemon=True).start()
                while len(attempts) < len(commands):
                    command, attempt = await run.finished.get()
                    attempts[command] = attempt
    finally:
        run.stop.set()
    return attempts


def _queue_jobs(run: _Run, commands: list[ScanCommand], extra_arguments: Any) -> tuple[dict[ScanCommand, Attempt], int]:
    """Each command's jobs into the run's queue; the outcome of those that cannot start, and how many jobs wait."""
    attempts: dict[ScanCommand, Attempt] = {}
    queued = 0
    for command in commands:
        try:
            jobs = ScanCommandsRepository.get_implementation_cls(command).scan_jobs_for_scan_command(
                server_info=run.server, extra_arguments=getattr(extra_arguments, command.value, None)
            )
        except ScanCommandWrongUsageError as err:
            attempts[command] = _error(command, ScanCommandErrorReasonEnum.WRONG_USAGE, err)
            continue
        except Exception as err:
            attempts[command] = _error(command, ScanCommandErrorReasonEnum.BUG_IN_SSLYZE, err)
            continue
        if not jobs:
            attempts[command] = command_attempt(command, run.server, [])
            continue
        entry = _Command(command, len(jobs))
        for job in jobs:
            run.jobs.put((entry, job))
        queued += len(jobs)
    return attempts, queued


def command_attempt(command: ScanCommand, server: ServerConnectivityInfo, results: list[ScanJobResult]) -> Attempt:
    """A finished command's result, its errors sorted as sslyze's own scanner sorts them."""
    try:
        result = ScanCommandsRepository.get_implementation_cls(command).result_for_completed_scan_jobs(
            server_info=server, scan_job_results=results
        )
    except ClientCertificateRequested as err:
        return _error(command, ScanCommandErrorReasonEnum.CLIENT_CERTIFICATE_NEEDED, err)
    except (ConnectionToServerTimedOut, TlsHandshakeTimedOut, ServerRejectedTlsHandshake) as err:
        return _error(command, ScanCommandErrorReasonEnum.CONNECTIVITY_ISSUE, err)
    except Exception as err:
        return _error(command, ScanCommandErrorReasonEnum.BUG_IN_SSLYZE, err)
    return get_scan_command_attempt_cls(command)(
        status=ScanCommandAttemptStatusEnum.COMPLETED, error_reason=None, error_trace=None, result=result
    )


def _error(command: ScanCommand, reason: ScanCommandErrorReasonEnum, err: Exception) -> Attempt:
    return get_scan_command_attempt_cls(command)(
        status=ScanCommandAttemptStatusEnum.ERROR,
        error_reason=reason,
        error_trace=TracebackException.from_exception(err),
        result=None,
    )
