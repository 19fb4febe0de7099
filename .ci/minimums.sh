#!/usr/bin/env bash
# CI: install acmerun with exactly the lowest versions setup.cfg declares
# (install_requires and the `test` extra), then run a smoke test with them.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${ACMERUN_MINIMUMS_VENV:-.venv-minimums}"
constraints="$venv/minimums.txt"

python3 -m venv "$venv"
# setup.cfg's own floors, as `name==floor` pins: no second list to keep in sync
python3 - > "$constraints.new" <<'PY'
import configparser
import re

config = configparser.ConfigParser()
config.read("setup.cfg")
lines = config["options"]["install_requires"].split("\n")
lines += config["options.extras_require"]["test"].split("\n")
for line in lines:
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([^,\s]+).*", line.strip())
    if match:
        print(f"{match[1]}=={match[2]}")
PY
mkdir -p "$venv" && mv "$constraints.new" "$constraints"

"$venv/bin/pip" install -q -c "$constraints" -r "$constraints"
"$venv/bin/pip" install -q --no-deps -e .
"$venv/bin/pip" check
"$venv/bin/pip" freeze --exclude-editable

# a home of its own: the embedded lab's state and any crash log stay out of the user's
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
export HOME="$home" XDG_STATE_HOME="$home/.local/state"
"$venv/bin/acmerun" --version
"$venv/bin/acmerun" validate runbooks/
"$venv/bin/acmerun" --lab --quiet runbooks/health-check.yml
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit
