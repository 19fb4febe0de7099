"""The HTML report's timeline: one lane per redundancy group (or worker slot), inline SVG.

Each host that ran is a bar from its start to its end, colored by its status,
with its device's downtime (a reboot the upgrade waited for) drawn over it and
a mark at the end of a failed or unreachable one. Hosts that never ran are
counted at the end of their lane. With more lanes than ``MAX_LANES``, lanes are
put in buckets and each bucket is drawn as a density band: how many of its
hosts were in flight in each slice of time, failures marked.
"""

from __future__ import annotations

import heapq
import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from acmerun.outcome import FAILURES, HostOutcome, RunOutcome, walk
from acmerun.secrets import Redactor

#: more lanes than this are drawn as density bands of buckets of lanes
MAX_LANES = 200
#: time slices of a density band
BINS = 200
#: shades of a density band, from one host in flight to the bucket's most
LEVELS = 5

_LABEL = 170  # width of the lane labels
_PLOT = 900  # width of the bars' area
_NOTE = 80  # right margin: hosts not run
_LANE = 16  # height of a lane
_BAR = 12  # height of a bar
_AXIS = 22  # height of the time axis


class _Esc(Protocol):
    def __call__(self, text: str, limit: int = ...) -> str: ...


@dataclass
class _Lane:
    label: str
    hosts: list[HostOutcome]


def lanes(outcome: RunOutcome) -> tuple[str, list[_Lane]]:
    """What the lanes are ("redundancy group" or "worker slot") and the lanes, in order."""
    hosts = [outcome.hosts[n] for n in sorted(outcome.hosts)]
    if any(h.group for h in hosts):
        by_group: dict[str, list[HostOutcome]] = {}
        for host in hosts:
            by_group.setdefault(host.group or "(no group)", []).append(host)
        return "redundancy group", [_Lane(g, by_group[g]) for g in sorted(by_group)]
    ran = sorted((h for h in hosts if h.started is not None), key=lambda h: (h.started, h.name))
    slots: list[_Lane] = []
    free: list[tuple[datetime, int]] = []  # (when the slot is free, its index)
    for host in ran:
        assert host.started is not None
        end = host.ended or host.started
        if free and free[0][0] <= host.started:
            _, index = heapq.heappop(free)
        else:
            index = len(slots)
            slots.append(_Lane(f"slot {index + 1}", []))
        slots[index].hosts.append(host)
        heapq.heappush(free, (end, index))
    never = [h for h in hosts if h.started is None]
    if never:
        slots.append(_Lane("not run", never))
    return "worker slot", slots or [_Lane("hosts", [])]


def svg(outcome: RunOutcome, redactor: Redactor) -> str:
    """The timeline as an ``<svg>`` element, every text masked by ``redactor`` and escaped."""

    def esc(text: str, limit: int = 26) -> str:
        return html.escape(_cut(redactor.text(text), limit))

    kind, found = lanes(outcome)
    start, span = _span(outcome)

    def x(moment: datetime) -> float:
        return _LABEL + _PLOT * max(0.0, (moment - start).total_seconds()) / span

    if len(found) > MAX_LANES:
        rows, body = _bands(found, x, esc)
    else:
        rows, body = len(found), _bars(found, x, esc)
    height = _AXIS + rows * _LANE + 4
    width = _LABEL + _PLOT + _NOTE
    head = (
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" data-lanes="{len(found)}" '
        f'data-lane-kind="{kind}"><title>timeline, one lane per {kind}</title>'
    )
    return head + _axis(span, rows) + body + _batch_marks(outcome, x, rows, esc) + "</svg>"


def _batch_marks(outcome: RunOutcome, x: Callable[[datetime], float], rows: int, esc: _Esc) -> str:
    """A line where each batch of a rollout started, and its gate's result in its title."""
    if len(outcome.batches) < 2 and not any(b.gate for b in outcome.batches):
        return ""
    parts = []
    for batch in outcome.batches:
        if batch.started is None:
            continue
        px = x(batch.started)
        gate = f", gate {batch.gate}" if batch.gate else ""
        tip = f"batch {batch.index}{' (canary)' if batch.canary else ''}: {len(batch.hosts)} hosts"
        tip += gate + (f": {batch.gate_message}" if batch.gate_message else "")
        parts.append(
            f'<g class="batch" data-batch="{batch.index}" data-gate="{batch.gate or ""}">'
            f'<line x1="{px:.1f}" y1="{_AXIS - 4}" x2="{px:.1f}" y2="{_AXIS + rows * _LANE}" '
            f'stroke="#555" stroke-dasharray="3 2"/><text class="tick" x="{px + 2:.1f}" '
            f'y="{_AXIS - 6}">b{batch.index}</text><title>{esc(tip, 500)}</title></g>'
        )
    return "".join(parts)


def _span(outcome: RunOutcome) -> tuple[datetime, float]:
    starts = [h.started for h in outcome.hosts.values() if h.started is not None]
    ends = [h.ended for h in outcome.hosts.values() if h.ended is not None]
    start = min([outcome.started, *starts])
    end = max([outcome.ended, *ends])
    return start, max((end - start).total_seconds(), 0.001)


def _axis(span: float, rows: int) -> str:
    step = _tick(span)
    parts = []
    n = 0
    while n * step <= span + 1e-9 and n < 50:
        px = _LABEL + _PLOT * n * step / span
        parts.append(
            f'<line class="grid" x1="{px:.1f}" y1="{_AXIS - 4}" x2="{px:.1f}" '
            f'y2="{_AXIS + rows * _LANE}"/><text class="tick" x="{px:.1f}" y="12">'
            f"{clock(n * step)}</text>"
        )
        n += 1
    return "".join(parts)


def _tick(span: float) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if span / step <= 10:
            return float(step)
    return 3600.0 * math.ceil(span / 36000)


def clock(seconds: float) -> str:
    """``+1m05s``, ``+2h03m``, ``+0.5s``: a moment after the run's start, or a duration."""
    if seconds < 10 and seconds != int(seconds):
        return f"+{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"+{hours}h{minutes:02d}m"
    if minutes:
        return f"+{minutes}m{secs:02d}s"
    return f"+{secs}s"


def _bars(found: list[_Lane], x: Callable[[datetime], float], esc: _Esc) -> str:
    parts: list[str] = []
    for row, lane in enumerate(found):
        y = _AXIS + row * _LANE
        parts.append(
            f'<text class="lane" x="{_LABEL - 6}" y="{y + _BAR - 1}">{esc(lane.label)}'
            f"<title>{esc(lane.label, 500)}</title></text>"
        )
        never = 0
        for host in lane.hosts:
            if host.started is None:
                never += 1
                continue
            left = x(host.started)
            right = max(x(host.ended or host.started), left + 1.5)
            tip = f"{host.name}: {host.status.value}, {host.duration:.1f} s"
            downs = [step.down for _, step in walk(host.steps) if step.down is not None]
            if downs:
                tip += f", down {sum(d.seconds for d in downs):.1f} s"
            if host.error:
                tip += f" - {host.error}"
            parts.append(
                f'<rect class="bar {host.status.value}" data-host="{esc(host.name, 500)}" '
                f'x="{left:.1f}" y="{y + 1}" width="{right - left:.1f}" height="{_BAR}">'
                f"<title>{esc(tip, 500)}</title></rect>"
            )
            for down in downs:
                dl, dr = x(down.start), x(down.end)
                parts.append(
                    f'<rect class="down" x="{dl:.1f}" y="{y + 4}" width="{max(dr - dl, 1.0):.1f}" '
                    f'height="{_BAR - 6}"/>'
                )
            if host.status in FAILURES:
                parts.append(
                    f'<path class="fail-mark" d="M{right:.1f} {y}l4 {_BAR / 2:.0f}l-4 '
                    f'{_BAR / 2 + 1:.0f}z"/>'
                )
        if never:
            parts.append(
                f'<text class="notrun" x="{_LABEL + _PLOT + 6}" y="{y + _BAR - 1}">'
                f"{never} not run</text>"
            )
    return "".join(parts)


def _bands(found: list[_Lane], x: Callable[[datetime], float], esc: _Esc) -> tuple[int, str]:
    size = math.ceil(len(found) / MAX_LANES)
    buckets = [found[i : i + size] for i in range(0, len(found), size)]
    width = _PLOT / BINS
    parts: list[str] = []
    for row, bucket in enumerate(buckets):
        y = _AXIS + row * _LANE
        hosts = [h for lane in bucket for h in lane.hosts]
        label = bucket[0].label if len(bucket) == 1 else f"{bucket[0].label} .. {bucket[-1].label}"
        parts.append(
            f'<text class="lane" x="{_LABEL - 6}" y="{y + _BAR - 1}">{esc(label)}'
            f"<title>{esc(f'{label}: {len(bucket)} lanes, {len(hosts)} hosts', 500)}</title></text>"
        )
        busy = [0] * BINS
        failed = [0] * BINS
        never = 0
        for host in hosts:
            if host.started is None:
                never += 1
                continue
            first = _bin(x(host.started))
            last = _bin(x(host.ended or host.started))
            for b in range(first, last + 1):
                busy[b] += 1
            if host.status in FAILURES:
                failed[last] += 1
        peak = max(busy) or 1
        # how busy, in LEVELS steps; a run of slices at one level is one rectangle
        levels = [math.ceil(LEVELS * count / peak) for count in busy]
        b = 0
        while b < BINS:
            end = b
            while end + 1 < BINS and levels[end + 1] == levels[b]:
                end += 1
            if levels[b]:
                parts.append(
                    f'<rect class="band" x="{_LABEL + b * width:.1f}" y="{y + 1}" '
                    f'width="{(end - b + 1) * width:.1f}" height="{_BAR}" '
                    f'fill-opacity="{levels[b] / LEVELS:.2f}"/>'
                )
            b = end + 1
        for b in range(BINS):
            if failed[b]:
                parts.append(
                    f'<rect class="band-fail" x="{_LABEL + b * width:.1f}" y="{y + 1}" '
                    f'width="{max(width, 2):.2f}" height="{_BAR}"><title>{failed[b]} failed'
                    "</title></rect>"
                )
        if never:
            parts.append(
                f'<text class="notrun" x="{_LABEL + _PLOT + 6}" y="{y + _BAR - 1}">'
                f"{never} not run</text>"
            )
    return len(buckets), "".join(parts)


def _bin(px: float) -> int:
    return min(BINS - 1, max(0, int((px - _LABEL) / _PLOT * BINS)))


def _cut(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"
