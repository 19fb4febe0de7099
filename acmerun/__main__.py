"""``python -m acmerun`` and the ``acmerun`` command.

Until the command's own handlers are in place (``acmerun.cli.boundary``), SIGINT
and SIGTERM end the process at once with exit 99 and the one line
``acmerun: error: interrupted``: nothing has been done yet, and an import half
done must not print a ``KeyboardInterrupt`` traceback.
"""

import os
import signal


def _interrupted(signum: int, frame: object) -> None:
    try:
        os.write(2, b"acmerun: error: interrupted\n")
    finally:
        os._exit(99)


def main() -> None:
    """The ``acmerun`` command line."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupted)
    from acmerun.cli import main as command

    command()


if __name__ == "__main__":
    main()
