"""A runbook as typed, immutable records: what the loader hands to everything else.

Records are built once, from data the schema already accepted (``Runbook.create``);
past the loader nothing reads raw YAML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: where a step is written: ``file:line:column``
Locate = Callable[[tuple[str | int, ...]], str]


@dataclass(frozen=True)
class InventorySpec:
    """Which devices a runbook runs on: a nornir inventory plugin, its options, a filter."""

    plugin: str = "ACMEInventory"
    options: Mapping[str, Any] = field(default_factory=dict)
    filter: Mapping[str, Any] | None = None

    @classmethod
    def create(cls, data: Mapping[str, Any]) -> InventorySpec:
        """The inventory section of a validated runbook."""
        return cls(
            plugin=data.get("plugin", "ACMEInventory"),
            options=dict(data.get("options", {})),
            filter=data.get("filter"),
        )


@dataclass(frozen=True)
class Rolling:
    """Rolling execution: at most ``max_down`` hosts of one redundancy group at a time."""

    group_by: str
    max_down: int = 1
    on_failure: str = "halt_group"  # halt_group | halt_all | continue

    @classmethod
    def create(cls, data: Mapping[str, Any]) -> Rolling:
        """The strategy.rolling section of a validated runbook."""
        return cls(
            group_by=data["group_by"],
            max_down=data.get("max_down", 1),
            on_failure=data.get("on_failure", "halt_group"),
        )


#: seconds in a unit of ``strategy.pause`` ("90s", "10m", "1h")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def seconds(value: float | str) -> float:
    """A duration the schema accepted (a number of seconds, or "90s", "10m", "1h") in seconds."""
    if isinstance(value, str):
        text = value.strip()
        return float(text[:-1]) * _UNIT_SECONDS[text[-1]]
    return float(value)


@dataclass(frozen=True)
class Strategy:
    """How the hosts are run: workers, batches, failure limits, rolling groups, gates."""

    workers: int | None = None
    max_fail_percentage: float | None = None
    serial: tuple[int | str, ...] | None = None
    rolling: Rolling | None = None
    #: devices that may refuse the credentials before no new host starts (0: no limit)
    auth_failure_limit: int | None = None
    #: new device sessions per second across the run (None: the config file's, else no limit)
    connect_rate: int | None = None
    #: the first batch, run alone: a number of hosts, "N%", or a --limit-like pattern
    canary: int | str | None = None
    #: steps run after each batch; the next batch starts only when they pass
    gate: tuple[Step, ...] = ()
    gate_on: str = "batch"  # batch | once
    #: seconds between batches (after the gate)
    pause: float = 0.0
    #: the share of hosts failed or unreachable before a batch at which the rollout stops
    max_unhealthy_percent: float | None = None
    #: once more than this many hosts failed (the whole run), no new host starts
    max_failed_in_batch: int | None = None

    @classmethod
    def create(cls, data: Mapping[str, Any], locate: Locate | None = None) -> Strategy:
        """The strategy section of a validated runbook."""
        serial = data.get("serial")
        if serial is not None and not isinstance(serial, list):
            serial = [serial]
        pct = data.get("max_fail_percentage")
        unhealthy = data.get("max_unhealthy_percent")
        where = locate or (lambda _path: "")
        gate = tuple(
            Step.create(s, ("strategy", "gate", i), where)
            for i, s in enumerate(data.get("gate", ()))
        )
        return cls(
            workers=data.get("workers"),
            max_fail_percentage=None if pct is None else float(pct),
            serial=None if serial is None else tuple(serial),
            rolling=Rolling.create(data["rolling"]) if "rolling" in data else None,
            auth_failure_limit=data.get("auth_failure_limit"),
            connect_rate=data.get("connect_rate"),
            canary=data.get("canary"),
            gate=gate,
            gate_on=data.get("gate_on", "batch"),
            pause=seconds(data.get("pause", 0)),
            max_unhealthy_percent=None if unhealthy is None else float(unhealthy),
            max_failed_in_batch=data.get("max_failed_in_batch"),
        )


def _default_name(data: Mapping[str, Any]) -> str:
    include = data.get("include")
    return f"include {include}" if isinstance(include, str) else "steps"


@dataclass(frozen=True)
class Step:
    """One step: a task to run (or nested steps) and the rules around it."""

    name: str
    task: str | None
    args: Mapping[str, Any] = field(default_factory=dict)
    when: str | bool | None = None
    register: str | None = None
    asserts: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    retries: int = 0
    delay: float = 0.0
    backoff: float = 1.0
    timeout: float | None = None
    ignore_errors: bool = False
    tags: tuple[str, ...] = ()
    location: str = ""
    #: steps run when a nested step failed, and steps run whatever happened
    rescue: tuple[Step, ...] = ()
    always: tuple[Step, ...] = ()
    until: str | None = None
    loop: Any = None
    loop_var: str = "item"
    changed_when: str | bool | None = None
    failed_when: str | bool | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    run_once: bool = False
    no_log: bool = False
    #: the file of steps this step includes (its ``steps`` are that file's)
    include: str | None = None
    #: None: the task's own check-mode support decides; True/False forces dry-run or a real run
    check_mode: bool | None = None

    @property
    def label(self) -> str:
        """What the step runs, for listings: its task, ``include FILE`` or ``steps``."""
        if self.task is not None:
            return self.task
        return f"include {self.include}" if self.include is not None else "steps"

    @classmethod
    def create(cls, data: Mapping[str, Any], path: tuple[str | int, ...], locate: Locate) -> Step:
        """A step of a validated runbook; ``path`` is its place in the document."""
        task = data.get("task")

        def nested(key: str) -> tuple[Step, ...]:
            return tuple(
                cls.create(child, (*path, key, i), locate)
                for i, child in enumerate(data.get(key, ()))
            )

        children = nested("steps")
        asserts = data.get("assert", ())
        if isinstance(asserts, str):
            asserts = (asserts,)
        timeout = data.get("timeout")
        return cls(
            name=data.get("name") or task or _default_name(data),
            task=task,
            args=dict(data.get("args", {})),
            when=data.get("when"),
            register=data.get("register"),
            asserts=tuple(asserts),
            steps=children,
            retries=data.get("retries", 3 if "until" in data else 0),
            delay=float(data.get("delay", 0)),
            backoff=float(data.get("backoff", 1)),
            timeout=None if timeout is None else float(timeout),
            ignore_errors=data.get("ignore_errors", False),
            tags=tuple(data.get("tags", ())),
            location=locate(path),
            rescue=nested("rescue"),
            always=nested("always"),
            until=data.get("until"),
            loop=data.get("loop"),
            loop_var=data.get("loop_var", "item"),
            changed_when=data.get("changed_when"),
            failed_when=data.get("failed_when"),
            vars=dict(data.get("vars", {})),
            run_once=data.get("run_once", False),
            no_log=data.get("no_log", False),
            include=data.get("include"),
            check_mode=data.get("check_mode"),
        )

    def walk(self) -> Sequence[Step]:
        """This step and every step nested in it (rescue and always too), depth first."""
        found: list[Step] = [self]
        for child in (*self.steps, *self.rescue, *self.always):
            found.extend(child.walk())
        return found


@dataclass(frozen=True)
class Runbook:
    """A validated runbook."""

    path: str
    name: str
    description: str
    inventory: InventorySpec
    vars: Mapping[str, Any]
    strategy: Strategy
    steps: tuple[Step, ...]

    @classmethod
    def create(cls, data: Mapping[str, Any], path: str, locate: Locate) -> Runbook:
        """The typed runbook for data the schema accepted."""
        return cls(
            path=path,
            name=data["name"],
            description=data.get("description", ""),
            inventory=InventorySpec.create(data.get("inventory", {})),
            vars=dict(data.get("vars", {})),
            strategy=Strategy.create(data.get("strategy", {}), locate),
            steps=tuple(Step.create(s, ("steps", i), locate) for i, s in enumerate(data["steps"])),
        )

    def all_steps(self) -> list[Step]:
        """Every step, nested ones included, in document order (then the gate's steps)."""
        found: list[Step] = []
        for step in (*self.steps, *self.strategy.gate):
            found.extend(step.walk())
        return found
