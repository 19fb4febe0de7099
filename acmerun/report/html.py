"""The HTML report: a run for people to look at (``--html FILE``, ``acmerun show``).

One self-contained file: inline CSS and SVG, no script, nothing fetched from
the network. It shows the summary (runbook, target, mode, exit code, hosts per
status), a timeline (``report.html_timeline``), the failures and every host
with its steps (``report.html_tables``). Every string is masked by the run's
secrets and escaped, so markup in a host name or an error shows as text. The
file is written atomically with mode 0640, like the other reports.
"""

from __future__ import annotations

from collections.abc import Iterable

from acmerun import __version__
from acmerun.outcome import RunOutcome
from acmerun.report.atomic import FileReport
from acmerun.report.html_tables import Text, failures, hosts, summary
from acmerun.report.html_timeline import svg
from acmerun.secrets import Redactor

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2330;background:#fff}
h1{font-size:1.4em;margin:0 0 .6em}h2{font-size:1.15em;margin:1.4em 0 .5em}
code{font:12px ui-monospace,monospace;color:#445;margin:0 .4em}
dl{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;margin:0 0 1em}
dt{color:#667}dd{margin:0}
.totals{display:flex;flex-wrap:wrap;gap:.5em}
.total{border:1px solid #ccd;border-left:6px solid #99a;border-radius:4px;padding:.3em .8em}
.total .count{font-size:1.4em;font-weight:600;margin-right:.2em}
.ok{--c:#2e8b57}.changed{--c:#c98a00}.failed{--c:#d0312d}.unreachable{--c:#7a1f1f}
.skipped{--c:#8a96a3}.interrupted{--c:#b03a8c}.rescued{--c:#2f6fb0}.ignored{--c:#b0703a}
.hosts{--c:#1d2330}
.total{border-left-color:var(--c)}
.timeline{display:block;max-width:100%;height:auto;border:1px solid #e3e6ea;margin:.3em 0}
.timeline .tick{font-size:10px;fill:#667;text-anchor:middle}
.timeline .grid{stroke:#eceef1}
.timeline .lane{font-size:11px;fill:#334;text-anchor:end}
.timeline .notrun{font-size:10px;fill:#667}
.timeline rect.bar.ok{fill:#2e8b57}.timeline rect.bar.changed{fill:#e0a100}
.timeline rect.bar.failed{fill:#d0312d}.timeline rect.bar.unreachable{fill:#7a1f1f}
.timeline rect.bar.skipped{fill:#8a96a3}.timeline rect.bar.interrupted{fill:#b03a8c}
.timeline rect.bar{stroke:#fff;stroke-width:1}
.timeline rect.down{fill:#1d2330;fill-opacity:.55}
.timeline .fail-mark{fill:#d0312d}
.timeline rect.band{fill:#2f6fb0}.timeline rect.band-fail{fill:#d0312d}
.legend span{margin-right:1em;font-size:12px}
.legend i{display:inline-block;width:1em;height:.7em;background:var(--c);margin-right:.3em}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;border-bottom:1px solid #e3e6ea;padding:.25em .5em;vertical-align:top}
td.error,.error{color:#a01e1a;white-space:pre-wrap}
tr.ignored td{color:#8a6d3b}
.host{border-bottom:1px solid #eceef1;padding:.15em 0;
 content-visibility:auto;contain-intrinsic-size:auto 1.6em}
.host>summary{cursor:pointer}.host b{font-weight:600}
.host i{display:inline-block;background:var(--c);color:#fff;border-radius:3px;
 padding:0 .45em;margin:0 .4em;font-size:12px;font-style:normal}
.host i.ignored{--c:#b0703a}
.host u{text-decoration:none;color:#667;margin:0 .4em;font-size:12px}
.host small{color:#667;margin:0 .4em;font-size:12px}
.host q{color:#a01e1a;white-space:pre-wrap;margin-left:.4em}
.host q::before,.host q::after{content:none}
.host.skipped>q,.host.interrupted>q{color:#667}
.host ol{margin:.2em 0 .4em;padding-left:1.6em}
.host li{margin:.1em 0}.host li b{font-weight:500}
.host li.ignored>b{text-decoration:underline dotted}
details.page>summary{cursor:pointer;font-weight:600;margin:.4em 0}
.none{color:#667}
"""

_LEGEND = "".join(
    f'<span class="{s}"><i></i>{s}</span>'
    for s in ("ok", "changed", "failed", "unreachable", "skipped", "interrupted")
)


class HtmlReport(FileReport):
    """Writes the HTML report of a run to ``path``, or to a new timestamped file in ``directory``.

    ``exit_code`` is the code the run exits with; ``secrets`` are masked wherever
    they would appear. After ``write``, ``written`` is the path of the file.
    """

    suffix = ".html"

    def text(self, outcome: RunOutcome) -> str:
        """The report's whole text."""
        return render(outcome, exit_code=self.exit_code, secrets=self.secrets)


def render(
    outcome: RunOutcome,
    *,
    exit_code: int,
    secrets: Iterable[str | None] = (),
    version: str = __version__,
) -> str:
    """The whole page, every string masked and escaped."""
    redactor = Redactor(secrets)
    t = Text(redactor)
    title = f"{outcome.name}{' (check mode)' if outcome.check else ''}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>acmerun: {t(title)}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>{t(title)}</h1>\n"
        f"{summary(outcome, exit_code, version, t)}\n"
        f'<section id="timeline"><h2>Timeline</h2><div class="legend">{_LEGEND}'
        '<span class="ok"><i style="background:#1d2330;opacity:.55"></i>device down</span>'
        f"</div>{svg(outcome, redactor)}</section>\n"
        f"{failures(outcome, t)}\n{hosts(outcome, t)}\n</body></html>\n"
    )
