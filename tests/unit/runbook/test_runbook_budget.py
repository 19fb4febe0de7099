"""The render budget: hostile templates end at once with an error naming the bound."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pytest

from acmerun.errors import RunbookInvalid
from acmerun.runbook import budget, load_runbook_text
from acmerun.runbook.templating import (
    Expression,
    RenderBudgetExceeded,
    RenderDeadline,
    RenderInterrupted,
    compile_text,
    compile_value,
    render_within,
    template_problems,
)
from acmerun.secrets import Redactor

#: far above what any refusal takes; only a hang reaches it
HANG = 5.0
VARS: dict[str, Any] = {"n": 99999999, "s": "x" * 1000, "big": "y" * 900_000}


def render(template: str, **variables: Any) -> Any:
    renderer = compile_value(template)
    assert renderer is not None
    return renderer({**VARS, **variables})


def refusal(template: str, **variables: Any) -> str:
    started = time.monotonic()
    with pytest.raises(RenderBudgetExceeded) as caught:
        render(template, **variables)
    assert time.monotonic() - started < HANG
    return str(caught.value)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 9**n }}", "9 ** 99999999 would have 3.2e8 bits (limit 100000)"),
        ("{{ 9**(9**9) }}", "9 ** 387420489 would have 1.2e9 bits (limit 100000)"),
        ("{{ 'x' * 10**9 }}", "'x' * 1000000000 would be 1e9 characters (limit 1000000)"),
        ("{{ 10**9 * [1, 2] }}", "1000000000 * <a list of 2 items> would be 8e9 characters"),
        ("{{ (10**29000) * (10**29000) }}", "would have 192672 bits (limit 100000)"),
        ("{{ 'x'|center(999999999) }}", "center(999999999) would be 1e9 characters"),
        ("{{ 'x'.center(999999999) }}", "'x'.center(...) would be 1e9 characters"),
        ("{{ 'x'.zfill(10**8) }}", "'x'.zfill(...) would be 1e8 characters"),
        ("{{ ('a\\t' * 1000).expandtabs(10**6) }}", ".expandtabs(...) would be 1e9 characters"),
        ("{{ s.replace('', s) }}", ".replace(...) would be 1e6 characters"),
        ("{{ '%999999999s' % 1 }}", "'%999999999s' % ... would be 1e9 characters"),
        ("{{ '%.*f' % (10**9, 1.0) }}", "'%.*f' % ... would be 1e9 characters"),
        ("{{ '%s'|format(big ~ big) }}", "joining with ~ would be 1.8e6 characters"),
        ("{{ '%999999999d'|format(1) }}", "format(...) would be 1e9 characters"),
        ("{{ '{:999999999}'.format(1) }}", "'{:999999999}'.format(...) would be 1e9 characters"),
        ("{{ '{:{}}'.format(1, 10**9) }}", "'{:{}}'.format(...) would be 1e9 characters"),
        (
            "{{ '{0:{1.v}}'.format(1, namespace(v=10**9)) }}",
            "formatting a field with {:1000000000} would be 1e9 characters",
        ),
        ("{{ ('{0}' * 3).format(big) }}", "'{0}{0}{0}'.format(...) would be 1.8e6 characters"),
        (
            "{{ '{v:999999999}'.format_map(namespace(v=1)) }}",
            "'{v:999999999}'.format_map(...) would be 1e9 characters",
        ),
        ("{{ ('a.com ' * 1000)|urlize(target=s) }}", "urlize(...) would be 1.1e6 characters"),
        ("{{ lipsum(10**6) }}", "lipsum(1000000, max=100) would be 1.2e9 characters"),
        ("{{ range(10**9) }}", "range(1000000000) would have 1000000000 items (limit 100000)"),
        ("{{ [s] * 2000 }}", "<a list of 1 item> * 2000 would be 2e6 characters"),
        ("{{ [big, s]|join(s * 200) }}", "join(...) would be 1.1e6 characters"),
        ("{{ s.join([big, big]) }}", ".join(...) would be 1.8e6 characters"),
        ("{{ ('9' * 5000)|int }}", "a number parsed from 5000 characters (limit 4300 digits)"),
        ("{{ ('1.' ~ '9' * 5000)|version_tuple }}", "a number parsed from 5000 characters"),
        ("{{ 5|round(-10**7) }}", "round(5, -10000000) would have 3.3e7 bits"),
        ("{{ (1).to_bytes(10**9, 'big') }}", "(1).to_bytes(1000000000) would be 1e9 characters"),
        ("{{ [1]|batch(10**9, 0)|list }}", "batch(1000000000, ...) would be 3e9 characters"),
        ("{{ [1]|slice(10**9)|list }}", "slice(1000000000, ...) would be 4e9 characters"),
        ("{{ 'a'|indent(10**9) }}", "indent(1000000000) would be 1e9 characters"),
        ("{{ s|wordwrap(2, true, s) }}", "wordwrap(2, ...) would be 2e6 characters"),
        ("{{ [[s] * 900]|tojson(10**6) }}", "tojson(...) would be"),
        ("{{ s.translate({120: s ~ 'y'}) }}", ".translate(...) would be 1e6 characters"),
        ("{{ ([[1] * 300] * 300)|sum(start=[]) }}", "the copies sum(...) makes would be"),
        ("{{ ('x' * 10**6)|list }}", "a value of more than 1000000 characters (limit 1000000)"),
        ("{{ big|upper ~ big }}", "joining with ~ would be 1.8e6 characters"),
        ("{{ big ~ big }}", "joining with ~ would be 1.8e6 characters"),
        ("{{ big + big }}", "would be 1.8e6 characters (limit 1000000)"),
        ("x{{ [big, big] }}", "its output would be over 1000000 characters"),
        ("{{ [big * 1, big * 1] }}", "the value of more than 1000000 characters"),
        ("{{ [big, big]|join }}", "the input of |join of more than 1000000 characters"),
    ],
)
def test_hostile_templates_are_refused_before_computing(template: str, message: str) -> None:
    error = refusal(template)
    assert error.startswith(f"template {template!r} exceeds the render budget: "), error
    assert message in error


@pytest.fixture
def counts_not_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The count under test, not the time cap, ends the render, however loaded the machine."""
    monkeypatch.setattr(budget, "MAX_RENDER_SECONDS", 60.0)
    monkeypatch.setattr(sys.modules[__name__], "HANG", 60.0)


@pytest.mark.usefixtures("counts_not_time")
def test_loops_count_every_iteration_against_the_operations() -> None:
    loops = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    assert refusal(loops).endswith(
        f"more than {budget.MAX_OPERATIONS} operations (limit {budget.MAX_OPERATIONS})"
    )


@pytest.mark.parametrize(
    "template",
    [
        "{% for a in range(100000) %}" + "x" * 100 + "{% endfor %}",
        "{% for a in range(100000) %}{{ s }}{% endfor %}",
        "{% set x %}{% for a in range(100000) %}" + "x" * 100 + "{% endfor %}{% endset %}",
        "{% block b %}{% for a in range(10000) %}" + "x" * 200 + "{% endfor %}{% endblock %}",
        "{% macro m() %}{{ s }}{% endmacro %}{% for a in range(2000) %}{{ m() }}{% endfor %}",
    ],
)
@pytest.mark.usefixtures("counts_not_time")
def test_output_is_capped_per_render(template: str) -> None:
    limit = budget.MAX_OUTPUT_SIZE
    assert refusal(template).endswith(
        f"its output would be over {limit} characters (limit {limit})"
    )


def test_values_shared_many_times_count_as_printed_and_cost_nothing_to_measure() -> None:
    levels = "".join(
        f"{{% set l{i + 1} = [l{i}, l{i}, l{i}, l{i}, l{i}, l{i}, l{i}, l{i}, l{i}, l{i}] %}}"
        for i in range(40)
    )
    template = "{% set l0 = [s] %}" + levels + "{{ l40|string|length }}"
    assert "the input of |string of more than 1000000 characters" in refusal(template)


def test_a_namespace_holding_itself_is_refused_not_printed_forever() -> None:
    template = "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}"
    assert "its output would be over 1000000 characters" in refusal(template)
    assert "the input of |string of more than" in refusal(template.replace("ns }}", "ns|string }}"))


def test_values_computed_in_all_are_capped() -> None:
    template = "{% for a in range(100) %}{% set x = big ~ a %}{% endfor %}"
    limit = budget.MAX_CREATED_SIZE
    assert f"characters in all (limit {limit})" in refusal(template)


def test_a_render_stops_at_its_time_cap() -> None:
    # each operation is short (copying 900,000 characters) but there are many
    template = (
        "{% for a in range(100000) %}{% for b in range(100) %}"
        "{% set x = big.count('yy') %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    error = refusal(template)
    assert error.endswith(f"still rendering after 1s (limit {budget.MAX_RENDER_SECONDS:g}s)")
    assert time.monotonic() - started < budget.MAX_RENDER_SECONDS + 2


def test_render_within_ends_at_the_callers_deadline() -> None:
    loops = "{% for a in range(1000) %}{% for b in range(900) %}{{ b }}{% endfor %}{% endfor %}"
    renderer = compile_value({"a": loops})
    assert renderer is not None
    started = time.monotonic()
    with pytest.raises(RenderDeadline, match="the step's timeout ran out while rendering"):
        render_within(renderer, VARS, seconds=0.05)
    assert time.monotonic() - started < 0.5 + budget.MAX_RENDER_SECONDS


def test_render_within_stops_when_asked() -> None:
    stop = threading.Event()
    stop.set()
    renderer = compile_value({"a": "{{ n }}", "b": "{% for a in range(10) %}{% endfor %}"})
    assert renderer is not None
    with pytest.raises(RenderInterrupted):
        render_within(renderer, VARS, seconds=None, stop=stop)


@pytest.mark.usefixtures("counts_not_time")
def test_the_templates_of_one_call_share_one_budget() -> None:
    loop = "{% for a in range(90000) %}{{ a }}{% endfor %}"
    one = compile_value({"a": loop})
    assert one is not None
    assert len(render_within(one, VARS, seconds=None)["a"]) < budget.MAX_OUTPUT_SIZE
    many = compile_value({f"k{i}": loop for i in range(20)})
    assert many is not None
    with pytest.raises(RenderBudgetExceeded, match="its output would be over 1000000 characters"):
        render_within(many, VARS, seconds=None)


def test_ordinary_templates_render_as_before() -> None:
    assert render("{{ n + 1 }}") == 100000000
    assert render("{{ 2 ** 64 }}") == 2**64
    assert render("{{ [1, 2, 3]|join(',') }}") == "1,2,3"
    assert render("{{ '%s-%05d' % ('a', 42) }}") == "a-00042"
    assert render("{{ '{}:{:>4}'.format('a', 1) }}") == "a:   1"
    assert render("{{ '{a}'.format_map({'a': 2}) }}") == "2"
    assert str(render("{{ ('<{}>'|safe).format('&') }}")) == "<&amp;>"
    assert render("{{ 'see www.a.com'|urlize }}").startswith('see <a href="https://www.a.com"')
    assert render("{{ 'ab' * 3 }}") == "ababab"
    assert render("{{ 'x'|center(5) }}") == "  x  "
    assert render("{% for i in range(3) %}{{ i }},{% endfor %}") == "0,1,2,"
    assert render("{{ range(3)|map('string')|join('-') }}") == "0-1-2"
    assert render("{{ 'a' ~ 1 ~ none }}") == "a1None"
    assert render("{{ [[1], [2]]|sum(start=[]) }}") == [1, 2]
    assert render("{{ '5.4.10'|version_tuple > '5.4.9'|version_tuple }}") is True
    assert compile_text("{{ site }}-{{ rack }}")({"site": "earth", "rack": 3}) == "earth-3"
    assert Expression("res.cpu < 80 and 9 ** 2 == 81").holds({"res": {"cpu": 10}})


def test_compiling_evaluates_nothing() -> None:
    started = time.monotonic()
    for template in ("{{ 'x'|center(999999999) }}", "x{{ 'x' * 999999999 }}", "{{ 9**9**9 }}"):
        assert compile_value(template) is not None
    assert time.monotonic() - started < HANG


def test_validation_refuses_constant_arithmetic_over_the_budget() -> None:
    assert template_problems("{{ 9**(9**9) }}") == [
        "the template exceeds the render budget: 9 ** 387420489 would have 1.2e9 bits"
        " (limit 100000)"
    ]
    assert template_problems("{{ 'ab' * 10**9 }}") == [
        "the template exceeds the render budget: 'ab' * 1000000000 would be 2e9 characters"
        " (limit 1000000)"
    ]
    assert template_problems("{{ 9 ** 9 }}{{ n ** 99 }}{{ 1 / 0 }}") == []


def test_validation_refuses_numbers_python_will_not_read() -> None:
    assert template_problems("{{ " + "9" * 5000 + " }}") == [
        "the template holds a number of more than 4300 digits"
    ]


def test_assert_explanations_stay_short_whatever_the_value() -> None:
    check = Expression("res == 1")
    shown = check.explain({"res": [[["x" * 100] * 100] * 100] * 100})
    assert len(shown) < 100
    assert Expression("n == 1").explain({"n": 10**5000}) == "n = <an integer of 5001 digits>"


def test_a_runbook_with_constant_arithmetic_over_the_budget_is_invalid_at_its_place() -> None:
    text = (
        "name: hostile\n"
        "steps:\n"
        "  - task: acmeos.get_version\n"
        '    when: "9 ** (9 ** 9) > 0"\n'
        "  - task: acmeos.install_os_version\n"
        "    args: {version: \"{{ 'x' * 10**9 }}\"}\n"
    )
    with pytest.raises(RunbookInvalid) as caught:
        load_runbook_text(text, "h.yml")
    assert caught.value.errors == [
        "h.yml:4:11: steps[0].when: the expression exceeds the render budget:"
        " 9 ** 387420489 would have 1.2e9 bits (limit 100000)",
        "h.yml:6:21: steps[1].args.version: the template exceeds the render budget:"
        " 'x' * 1000000000 would be 1e9 characters (limit 1000000)",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "a" * 60 + "s3cret-Pa55word-xyz",  # the message is cut inside the password
        ["a" * 58 + "s3cret-Pa55word-xyz"],
        {"k": "a" * 54 + "s3cret-Pa55word-xyz"},
    ],
)
def test_an_assertion_message_masks_a_password_before_it_is_cut(value: object) -> None:
    password = "s3cret-Pa55word-xyz"
    check = Expression("x == 1")
    shown = check.explain({"x": value}, Redactor([password]).text)
    assert not any(password[:n] in shown for n in range(4, len(password) + 1)), shown
    assert "********" in shown
