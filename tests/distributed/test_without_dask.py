"""A run without --cluster never imports Dask; --cluster without it installed says what to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.cluster import AUDIT, acmerun, write_runbook


def test_a_run_without_cluster_imports_no_dask(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    url = start_lab("--site", "earth", "--leaves", "2")
    runbook = write_runbook(tmp_path, AUDIT)
    run = acmerun(str(runbook), url=url, cwd=tmp_path, PYTHONPROFILEIMPORTTIME="1")
    assert run.returncode == 0, run.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line]
    assert "acmerun.plugins.runners.rolling" in imported
    assert not [m for m in imported if m.split(".")[0] in ("dask", "distributed")]


def test_cluster_without_the_extra_is_exit_5_with_the_install_command(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "distributed.py").write_text("raise ImportError('No module named distributed')\n")
    runbook = write_runbook(tmp_path, AUDIT)
    run = acmerun(
        str(runbook),
        "--cluster",
        "local:2",
        url="http://127.0.0.1:9",
        cwd=tmp_path,
        PYTHONPATH=f"{blocked}:{Path(__file__).resolve().parents[2]}",
    )
    assert run.returncode == 5
    assert "pip install 'acmerun[distributed]'" in run.stderr
    assert run.stdout == ""
