"""``python -m acmerun`` and the ``acmerun`` command.

Until the command's own handlers are in place (``acmerun.cli.boundary``), SIGINT
ends the process as it ends any program (the default signal death), not with a
``KeyboardInterrupt`` traceback from an import half done.
"""

import signal


def main() -> None:
    """The ``acmerun`` command line."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from acmerun.cli import main as command

    command()


if __name__ == "__main__":
    main()
