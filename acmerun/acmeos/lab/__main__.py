"""``python -m acmerun.acmeos.lab serve ...``: the same as ``acmerun lab serve ...``."""

from acmerun.acmeos.lab.cli import main

if __name__ == "__main__":
    main()
