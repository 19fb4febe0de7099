"""A run outcome with every kind of host a recap, a JSON report or a JUnit file must show."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from acmerun.outcome import HostOutcome, RunOutcome, Status, StepOutcome

STARTED = datetime(2026, 11, 24, 15, 17, 0, tzinfo=timezone.utc)


def step(name: str, status: Status, **kw: object) -> StepOutcome:
    kw.setdefault("task", f"acmeos.{name.replace(' ', '_')}")
    kw.setdefault("changed", status is Status.CHANGED)
    kw.setdefault("failed", status in (Status.FAILED, Status.UNREACHABLE))
    kw.setdefault("attempts", 0 if status is Status.SKIPPED else 1)
    return StepOutcome(name=name, status=status, **kw)  # type: ignore[arg-type]


def mixed() -> RunOutcome:
    """Five hosts: changed (nested steps), ok, failed, unreachable, skipped by its group."""
    hosts = [
        HostOutcome(
            "spine01.earth",
            Status.CHANGED,
            [
                step("pre-check", Status.OK, result={"cpu": 12, "ram": 40}, duration=0.5),
                step("upgrade", Status.CHANGED, result="5.4.1", duration=30.25),
                step(
                    "post-checks",
                    Status.OK,
                    task="",
                    steps=[step("get version", Status.OK, result={"full_version": "5.4.1"})],
                ),
            ],
            duration=31.0,
        ),
        HostOutcome(
            "leaf001.earth",
            Status.OK,
            [
                step("pre-check", Status.OK),
                step("upgrade", Status.OK),
                step(
                    "post-checks",
                    Status.OK,
                    task="",
                    steps=[
                        step("get version", Status.OK),
                        step("reboot", Status.SKIPPED, error="when false: reboot_needed"),
                    ],
                ),
            ],
            duration=1.5,
        ),
        HostOutcome(
            "leaf002.earth",
            Status.FAILED,
            [
                step("pre-check", Status.OK),
                step(
                    "upgrade",
                    Status.FAILED,
                    error="install of 5.4.1 failed: disk full\nfree: 0 MiB",
                    attempts=3,
                ),
            ],
            duration=12.0,
        ),
        HostOutcome(
            "edge00.earth",
            Status.UNREACHABLE,
            [step("pre-check", Status.UNREACHABLE, error="cannot connect to 127.0.0.1:40001")],
            duration=5.0,
        ),
        HostOutcome(
            "edge01.earth",
            Status.SKIPPED,
            [],
            error="group earth-edge-r0 halted after edge00.earth was unreachable",
        ),
    ]
    return RunOutcome(
        runbook="runbooks/upgrade-earth.yml",
        name="Upgrade earth to AcmeOS 5.4.1",
        check=False,
        started=STARTED,
        ended=STARTED + timedelta(seconds=75.5),
        hosts={h.name: h for h in hosts},
        target="embedded lab",
    )


@pytest.fixture
def outcome() -> RunOutcome:
    return mixed()
