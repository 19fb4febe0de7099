"""``python -m acmerun.lab serve ...``: the same as ``acmerun lab serve ...``."""

from acmerun.cli.lab import main

if __name__ == "__main__":
    main()
