"""Host names with control characters, from a real inventory service, reach no terminal raw.

A small inventory service of the test serves a real lab's hosts, one renamed with an
ESC sequence and a newline (as a compromised or broken inventory could): every line
acmerun writes shows it escaped, and the reports keep the name as it is.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes

EVIL = "edge00\x1b[2J\x1b]0;owned\x07\nfake-line"
SHOWN = "edge00\\x1b[2J\\x1b]0;owned\\x07\\nfake-line"

RUNBOOK = """\
name: version
inventory:
  plugin: ACMEInventory
strategy:
  workers: 2
steps:
  - name: version
    task: acmeos.get_version
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[str]:
    """A lab's hosts, one renamed with control characters and its port closed, served over
    HTTP as the ACME inventory API serves them; the service's URL."""
    lab = processes.start_lab(cwd=tmp_path, leaves=1)
    try:
        with urllib.request.urlopen(f"{lab.url}/api/v1/inventory/hosts", timeout=10) as answer:
            hosts: list[dict[str, Any]] = json.load(answer)["hosts"]
        for host in hosts:
            if host["name"] == "edge00.earth":
                host["name"] = EVIL
                host["port"] = 1  # nothing listens: the host is unreachable, named in errors
        body = json.dumps({"hosts": hosts}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
    finally:
        processes.stop([lab])


@pytest.mark.parametrize("quiet", [False, True])
def test_a_host_name_with_control_characters_is_shown_escaped(
    inventory: str, tmp_path: Path, quiet: bool
) -> None:
    runbook = tmp_path / "version.yml"
    runbook.write_text(RUNBOOK)
    done = processes.run_acmerun(
        str(runbook),
        "--report",
        "report.json",
        "--log-file",
        "run.log",
        *(["--quiet"] if quiet else []),
        env=processes.environment(inventory),
        cwd=tmp_path,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for text in (done.stdout, done.stderr, (tmp_path / "run.log").read_text()):
        assert "\x1b" not in text and "\x07" not in text, text
        assert not any(line.startswith("fake-line") for line in text.splitlines()), text
    assert SHOWN in done.stdout
    hosts = json.loads((tmp_path / "report.json").read_text())["hosts"]
    assert hosts[EVIL]["status"] == "unreachable"
