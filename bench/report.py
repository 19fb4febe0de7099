"""Print the figures table of ``bench/README.md`` from the results in ``bench/results/``.

.venv/bin/python bench/report.py          # markdown table on stdout
.venv/bin/python bench/report.py --json   # every result file in one JSON document
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from typing import Any

import common

Row = tuple[str, str, str, str]


def _range(stats: Mapping[str, float], unit: str = " s", digits: int = 2) -> str:
    return (
        f"{stats['median']:.{digits}f}{unit} "
        f"({stats['min']:.{digits}f} to {stats['max']:.{digits}f})"
    )


def _met(flag: object) -> str:
    return "met" if flag else "**not met**"


def vs_nornir(doc: Mapping[str, Any]) -> Iterator[Row]:
    for devices, size in doc["sizes"].items():
        yield (
            f"acmerun vs nornir, {devices} devices, {size['workers']} workers",
            f"acmerun {_range(size['acmerun_wall_s'])}, nornir {_range(size['nornir_wall_s'])}; "
            f"ratio {_range(size['ratio'], '', 3)}"
            + (
                f"; CPU acmerun {_range(size['acmerun_cpu_s'])}, "
                f"nornir {_range(size['nornir_cpu_s'])}"
                if "acmerun_cpu_s" in size
                else ""
            ),
            "ratio <= 1.10",
            _met(size["met"]),
        )


def vs_ansible(doc: Mapping[str, Any]) -> Iterator[Row]:
    for devices, size in doc["sizes"].items():
        yield (
            f"acmerun vs ansible-playbook, {devices} devices, {size['workers_forks']} forks",
            f"acmerun {_range(size['acmerun_wall_s'])}, ansible {_range(size['ansible_wall_s'])} "
            f"({size['ansible_ms_per_host_task']:.0f} ms per host-task); "
            f"acmerun {_range(size['speedup'], 'x', 0)} faster",
            ">= 100x",
            _met(size["met"]),
        )


def scale(doc: Mapping[str, Any]) -> Iterator[Row]:
    devices = doc["devices"]
    yield (
        f"scale: {devices} devices, {doc['steps']} steps, lab start included",
        f"whole run {_range(doc['whole_run_s'])}; acmerun {_range(doc['acmerun_wall_s'])}, "
        f"{_range(doc['host_steps_per_s'], '', 0)} host-steps/s",
        "< 30 s",
        _met(doc["whole_run_s"]["median"] < 30),
    )
    yield (
        "scale: peak RSS",
        f"acmerun {_range(doc['acmerun_peak_rss_mib'], ' MiB', 0)}, "
        f"lab {_range(doc['lab_peak_rss_mib'], ' MiB', 0)}",
        "acmerun < 300 MiB",
        _met(doc["acmerun_peak_rss_mib"]["max"] < 300),
    )
    yield (
        f"lab start-up, {devices} devices",
        _range(doc["lab_startup_s"]),
        "",
        "",
    )
    yield (
        f"plain nornir get_version, {devices} devices",
        _range(doc["nornir_get_version_wall_s"]),
        "succeeds",
        "met",
    )


def latency(doc: Mapping[str, Any]) -> Iterator[Row]:
    yield (
        f"latency {doc['latency_ms']:.0f} ms, {doc['devices']} devices, {doc['workers']} workers",
        f"wall {_range(doc['wall_s'])} vs bound {doc['bound_s']:.2f} s: "
        f"ratio {_range(doc['ratio'], '', 3)}; run duration (report) "
        f"{_range(doc['run_duration_s'])}, ratio {_range(doc['run_duration_ratio'], '', 3)}; "
        f"same run with no latency "
        f"{_range(doc['no_latency_wall_s'])}"
        + (
            f"; nornir script under the same latency {_range(doc['nornir_wall_s'])}, "
            f"ratio {_range(doc['nornir_ratio'], '', 3)}"
            if "nornir_wall_s" in doc
            else ""
        ),
        "ratio <= 1.15",
        _met(doc["met"]),
    )


def startup(doc: Mapping[str, Any]) -> Iterator[Row]:
    for name, entry in doc["commands"].items():
        yield (
            f"start-up: `{name}`",
            _range(entry["wall_s"], " s", 3),
            "< 0.3 s",
            _met(entry["met"]),
        )


def rolling(doc: Mapping[str, Any]) -> Iterator[Row]:
    times = f"install {doc['install_seconds']} s + reboot {doc['reboot_seconds']} s"
    for name, variant in doc["variants"].items():
        if variant["ideal_s"]:
            figure = (
                f"wall {_range(variant['wall_s'])}; ideal {variant['ideal_s']:.2f} s "
                f"(largest group: {variant['largest_group_upgrades']} upgrades); "
                f"ratio {_range(variant['ratio_to_ideal'], '', 2)}"
            )
            if variant["workers"] < variant["groups"]:
                figure += f", to the {variant['workers']}-worker floor " + _range(
                    variant["ratio_to_floor"], "", 2
                )
            label = f"rolling upgrade, {doc['devices']} devices, {times}, {name}"
        else:
            figure = f"wall {_range(variant['wall_s'])} (acmerun's own cost of the upgrades)"
            label = f"rolling upgrade, {doc['devices']} devices, {name}"
        figure += f"; most down at once in a group: {variant['most_down_at_once_in_a_group']}"
        yield label, figure, "report the ratio; never 2 down", ""


def html_report(doc: Mapping[str, Any]) -> Iterator[Row]:
    names = {"groups": "lanes by redundancy group (density bands)", "slots": "lanes by worker slot"}
    for kind, name in names.items():
        figures = doc[kind]
        yield (
            f"HTML report, {doc['devices']} devices, {name}",
            f"{figures['html_bytes']['median'] / common.MIB:.1f} MiB; Chromium opens it in "
            f"{_range(figures['open_s'])} (load event {_range(figures['load_event_s'])}); "
            f"`acmerun show` {_range(figures['show_s'])}",
            "a few MB; open < 5 s",
            _met(figures["met"]),
        )


def history(doc: Mapping[str, Any]) -> Iterator[Row]:
    yield (
        f"run history, {doc['devices']} devices, 3 calls, {doc['workers']} workers",
        f"with {_range(doc['with_s'])}, without {_range(doc['without_s'])}: ratio "
        f"{_range(doc['ratio'], '', 3)}; the history's own work {_range(doc['record_s'])} "
        f"= {doc['record_share']:.1%} of the run; report {doc['report_bytes'] / common.MIB:.1f} "
        f"MiB kept as {doc['compressed_bytes'] / common.MIB:.2f} MiB, "
        f"{doc['file_bytes_per_run'] / common.MIB:.2f} MiB of file a run",
        "<= 3% of a run",
        _met(doc["met"]),
    )


def records(doc: Mapping[str, Any]) -> Iterator[Row]:
    yield (
        f"journal + history + --events, {doc['devices']} devices, 3 calls, "
        f"{doc['workers']} workers",
        f"with {_range(doc['with_s'])}, without {_range(doc['without_s'])}: ratio "
        f"{_range(doc['ratio'], '', 3)}, CPU ratio {_range(doc['cpu_ratio'], '', 3)}; "
        f"{int(doc['journal_lines']['median'])} journal lines; the history's own work "
        f"{_range(doc['history_record_s'])} = {doc['history_share']:.1%} of the run",
        "ratio <= 1.03",
        _met(doc["met"]),
    )


def login_rate(doc: Mapping[str, Any]) -> Iterator[Row]:
    yield (
        f"login rate overhead, {doc['devices']} devices, --connect-rate {doc['connect_rate']} "
        "(never binds)",
        f"with {_range(doc['with_rate_s'])}, without {_range(doc['without_rate_s'])}; "
        f"ratio {_range(doc['ratio'], '', 3)}, CPU ratio {_range(doc['cpu_ratio'], '', 3)}; "
        f"one permit {doc['permit_us']['1_threads_us']:.1f} us of CPU "
        f"({doc['permit_us']['50_threads_us']:.1f} us with 50 threads)",
        doc["goal"],
        _met(doc["met"]),
    )


def _wan_side(side: Mapping[str, Any]) -> str:
    return (
        f"wall {_range(side['wall_s'])}, {_range(side['ratio'], '', 2)} x the bound; CPU user "
        f"{_range(side['user_s'])} + system {_range(side['system_s'])} = "
        f"{_range(side['cpu_ms_per_exchange'], ' ms', 3)} per exchange (user "
        f"{side['user_ms_per_exchange']['median']:.3f} + system "
        f"{side['system_ms_per_exchange']['median']:.3f}); peak RSS "
        f"{_range(side['peak_rss_mib'], ' MiB', 0)}"
    )


def wan(doc: Mapping[str, Any]) -> Iterator[Row]:
    pinning = doc["pinning"]
    where = "lab and controller a core each" if pinning["pinned"] else pinning["note"]
    for case in doc["cases"]:
        label = (
            f"WAN {case['latency_ms']} ms, {case['devices']} devices, {case['workers']} "
            f"workers, bound {case['bound_s']:.2f} s ({where})"
        )
        files = "" if case["open_files_enough"] else "; **short of open files**"
        yield (
            f"{label}: acmerun",
            f"{_wan_side(case['acmerun'])}; acmerun / nornir "
            f"{_range(case['acmerun_to_nornir'], '', 3)}{files}",
            "<= 2.0 x bound, <= 0.15 ms CPU per exchange, < 300 MiB, ahead of nornir"
            if "goal" in case
            else "",
            _met(case["met"]) if "met" in case else "",
        )
        yield f"{label}: nornir script", _wan_side(case["nornir"]) + files, "", ""


WRITERS = {
    "vs_nornir": vs_nornir,
    "vs_ansible": vs_ansible,
    "scale": scale,
    "latency": latency,
    "startup": startup,
    "rolling": rolling,
    "html_report": html_report,
    "history": history,
    "records": records,
    "login_rate": login_rate,
    "wan": wan,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="all results as one JSON document")
    options = parser.parse_args()
    documents = {}
    for name in WRITERS:
        path = common.RESULTS / f"{name}.json"
        if path.exists():
            documents[name] = json.loads(path.read_text())
    if options.json:
        print(json.dumps(documents, indent=2))
        return
    print("| benchmark | figure: median (min to max) | goal | |")
    print("| --- | --- | --- | --- |")
    for name, document in documents.items():
        for row in WRITERS[name](document):
            print("| " + " | ".join(row) + " |")
    dates = ", ".join(f"{name} {doc['date']}" for name, doc in documents.items())
    print(f"\nMeasured: {dates}.")


if __name__ == "__main__":
    main()
