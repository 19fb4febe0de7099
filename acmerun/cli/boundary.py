"""The one error boundary: what a command returns or raises becomes a message and an exit code.

Every expected error (``acmerun.errors``, a bad command line) is one line on
stderr, ``acmerun: error: ...``, and its documented exit code; anything else is
a bug: one line naming the crash log that holds the traceback, and exit 250.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets as secrets_module
import sys
import traceback
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from acmerun import __version__
from acmerun.errors import BadOptions, ExitCode, RunbookInvalid, exit_code_of
from acmerun.secrets import Redactor, Secrets, masked_argv, printable

#: click settings of every command
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


#: the signals received by the handler of ``sigterm_interrupts``
_SIGNALLED: list[int] = []


def sigterm_interrupts() -> None:
    """SIGTERM (kill, systemd, a shutdown) stops acmerun as Ctrl-C does: exit 99, not a kill.

    The handler remembers the signal: an interrupt that Python swallows (raised in a
    garbage collector's callback, "Exception ignored in") still ends the command as
    interrupted (``run_guarded``), never as a run that went on as if nothing came. A
    second signal while the first is being handled ends the process at once, exit 99.
    """

    def interrupt(signum: int, frame: object) -> None:
        if _SIGNALLED:
            _exit_now(int(ExitCode.INTERRUPTED), "interrupted")
        _SIGNALLED.append(signum)
        raise KeyboardInterrupt

    _SIGNALLED.clear()
    _handle_signals(interrupt)
    if sys.unraisablehook is not _quiet_interrupts:
        _DEFAULT_UNRAISABLE.append(sys.unraisablehook)
        sys.unraisablehook = _quiet_interrupts


#: the unraisable hook ``_quiet_interrupts`` hands every other exception to
_DEFAULT_UNRAISABLE: list[Any] = []


def _quiet_interrupts(unraisable: Any) -> None:
    """An interrupt Python cannot raise (in a finalizer, a weakref callback) prints nothing:
    the signal is remembered, and the command ends as interrupted. Anything else as before."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _SIGNALLED:
        return
    (_DEFAULT_UNRAISABLE[-1] if _DEFAULT_UNRAISABLE else sys.__unraisablehook__)(unraisable)


def exit_with(code: int) -> NoReturn:
    """End the process with ``code``, whatever signal comes now or came before.

    A signal from here on ends the process at once: with ``code``, or exit 99 when the
    command had succeeded. A command a signal interrupted (99) ends without the interpreter's
    own exit: a ``KeyboardInterrupt`` that once passed through a C extension's
    evaluation of Python code makes the interpreter end in a SIGINT death, whatever the
    exit code. Exit handlers (logging's flush among them) run first.
    """

    def late(signum: int, frame: object) -> None:
        if code == ExitCode.OK:
            _exit_now(int(ExitCode.INTERRUPTED), "interrupted")
        _exit_now(code, None)

    _handle_signals(late)
    if code == ExitCode.INTERRUPTED and _SIGNALLED:
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()
        _exit_now(code, None)
    sys.exit(code)


def _handle_signals(handler: Any) -> None:
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        _handle_signal(sig, handler)


def _handle_signal(sig: int, handler: Any) -> None:
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(sig, handler)


def _exit_now(code: int, message: str | None) -> NoReturn:
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        if message:
            sys.stderr.write(f"acmerun: error: {message}\n")
        sys.stderr.flush()
    os._exit(code)


def run_guarded(body: Any, secrets: Secrets | None = None) -> int:
    """Call ``body()`` and turn what it returns or raises into an exit code (the error boundary).

    Every line it prints, and the crash log, has ``secrets`` (the run's) masked.
    """
    import signal

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _outcome(body, secrets if secrets is not None else Secrets.from_environment())
    finally:
        # the caller's handlers again (a test's, or ``acmerun.__main__``'s until ``exit_with``)
        for sig, handler in saved.items():
            if handler is not None:
                _handle_signal(sig, handler)


def _outcome(body: Any, secrets: Secrets) -> int:
    def error_line(message: str, *, prefix: bool = True) -> None:
        _print_error(message, secrets, prefix=prefix)

    try:
        sigterm_interrupts()
        result = body()
    except RunbookInvalid as exc:
        for line in exc.errors:
            error_line(line, prefix=False)
        n = len(exc.errors)
        error_line(f"runbook invalid ({n} error{'s' if n != 1 else ''})")
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help(), err=True)
        return int(ExitCode.BAD_OPTIONS)
    except click.UsageError as exc:
        hint = ""
        if exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        error_line(f"{exc.format_message()}{hint}")
        return int(ExitCode.BAD_OPTIONS)
    except click.ClickException as exc:
        error_line(exc.format_message())
        return int(ExitCode.BAD_OPTIONS)
    except (click.exceptions.Abort, KeyboardInterrupt):
        error_line("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        silence_stdout()
        return int(ExitCode.OK)
    except Exception as exc:
        code = exit_code_of(exc)
        if code is not None and not _SIGNALLED:
            error_line(str(exc))
            return int(code)
        if _SIGNALLED:  # what an interrupt broke on its way (a library's own wrapping of it)
            error_line("interrupted")
            return int(ExitCode.INTERRUPTED)
        log = write_crash_log(secrets)
        where = f"; the traceback is in {log}" if log else ""
        error_line(f"unexpected error ({type(exc).__name__}){where}")
        return int(ExitCode.UNEXPECTED)
    if _SIGNALLED and result != ExitCode.INTERRUPTED:
        error_line("interrupted")
        return int(ExitCode.INTERRUPTED)
    if result is None:
        return int(ExitCode.OK)
    return int(result)


def error_line(message: str, secrets: Secrets | None = None, *, prefix: bool = True) -> None:
    """``acmerun: error: MESSAGE`` on stderr, secrets masked; a closed stderr is not an error."""
    _print_error(message, secrets or Secrets.from_environment(), prefix=prefix)


def _print_error(message: str, secrets: Secrets, *, prefix: bool) -> None:
    message = printable(secrets.mask(message))
    with contextlib.suppress(OSError):
        click.echo(f"acmerun: error: {message}" if prefix else message, err=True)


def write_crash_log(secrets: Iterable[str]) -> Path | None:
    """The traceback being handled, in a crash log in the state directory; its path."""
    from acmerun import paths

    text = Redactor(secrets).text(traceback.format_exc())
    try:
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        path = paths.state_dir() / f"crash-{stamp}-{secrets_module.token_hex(8)}.log"
        argv = masked_argv(sys.argv)
        header = f"acmerun {__version__}, python {sys.version.split()[0]}\nargv: {argv}\n\n"
        body = (Redactor(secrets).text(header) + text).encode("utf-8")
        # a new file of our own: never through a planted symlink, never over a file
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        return path
    except (OSError, BadOptions):  # no state directory to write it in
        return None


def silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
