"""`runbooks/upgrade-fleet.yml` as the suite runs it: a short soak, if asked no health budget."""

from __future__ import annotations

from pathlib import Path

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


def fleet_runbook(folder: Path, pause: str = "0.5", *, health_budget: bool = True) -> Path:
    """A copy of upgrade-fleet.yml in ``folder`` with a soak of ``pause`` seconds between its
    batches (the shipped 60 s would make the suite slow); without ``health_budget`` it has no
    ``max_unhealthy_percent`` either."""
    text = (RUNBOOKS / "upgrade-fleet.yml").read_text(encoding="utf-8")
    assert "\n  pause: 60\n" in text and "\n  max_unhealthy_percent: 10\n" in text
    if not health_budget:
        text = text.replace("\n  max_unhealthy_percent: 10\n", "\n")
    path = folder / "upgrade-fleet.yml"
    path.write_text(text.replace("\n  pause: 60\n", f"\n  pause: {pause}\n"), encoding="utf-8")
    return path
