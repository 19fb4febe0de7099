"""``python -m acmerun``: the same as the ``acmerun`` command."""

from acmerun.cli import main

if __name__ == "__main__":
    main()
