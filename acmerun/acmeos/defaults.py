"""AcmeOS factory settings, shared by the client, the nornir plugins and the lab."""

from __future__ import annotations

import re

#: the credentials an AcmeOS device accepts out of the box (and the lab, unless told otherwise)
FACTORY_USERNAME = "admin"
FACTORY_PASSWORD = "acme-factory"

#: environment variables the connection plugin reads when the inventory gives no credentials
USERNAME_ENV = "ACMEOS_USERNAME"
PASSWORD_ENV = "ACMEOS_PASSWORD"

#: environment variable naming the inventory service (the lab's or a real one)
INVENTORY_URL_ENV = "ACME_INVENTORY_URL"

#: where an inventory service (the lab's, or a real one) lists its hosts
INVENTORY_HOSTS_PATH = "/api/v1/inventory/hosts"

#: an AcmeOS version: X.Y.Z, digits only (use ``fullmatch``)
VERSION_PATTERN = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")

#: socket timeouts of the client, in seconds
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0

#: what a secret (a password) is replaced with in every message, log line and report
MASK = "********"

#: a whole device request (connect, send, every read of the answer) ends within the connect
#: timeout plus the read timeout, however slowly the device sends; its answer is at most this
MAX_ANSWER_BYTES = 16 * 1024 * 1024

#: the inventory request: seconds in all (connect, send, every read) and the largest answer
INVENTORY_DEADLINE = 60.0
MAX_INVENTORY_BYTES = 64 * 1024 * 1024
