"""A plan's age, options and secret values, as ``acmerun apply`` checks them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from acmerun.errors import BadOptions, Refused
from acmerun.plan.check import age_text, check_age, check_options, parse_age
from acmerun.plan.document import digest, digest_matches


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("1h", 3600.0), ("2d", 172800.0)],
)
def test_ages_are_read_in_seconds_minutes_hours_and_days(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["", "1w", "h", "-1h", "1 hour"])
def test_an_age_of_another_shape_is_a_bad_option(text: str) -> None:
    with pytest.raises(BadOptions, match="expected a duration such as 90s, 30m, 1h or 2d"):
        parse_age(text)


def test_ages_are_said_as_people_say_them() -> None:
    assert [age_text(s) for s in (20, 2700, 10800, 11000, 93600)] == [
        "20s",
        "45m",
        "3h",
        "3h3m",
        "1d2h",
    ]


def test_a_plan_older_than_the_limit_is_refused() -> None:
    now = datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)
    plan = {"created": (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    check_age(plan, 4 * 3600, "4h", now)
    with pytest.raises(Refused, match=r"^plan is 3h old, older than plan_max_age 1h: "):
        check_age(plan, 3600, "1h", now)


def options(**overrides: Any) -> dict[str, Any]:
    recorded: dict[str, Any] = {
        "limit": "leaf*",
        "tags": ["upgrade"],
        "skip_tags": [],
        "lab": False,
        "extra_vars": {"ticket": "CHG-7", "token": "********"},
        "secret_extra_vars": {"token": digest("t0ken")},
    }
    recorded.update(overrides)
    return {"options": recorded}


def test_the_plan_s_values_are_used_with_its_secret_given_again() -> None:
    values = check_options(options(), {"extra_vars": {"token": "t0ken"}})
    assert values == {"ticket": "CHG-7", "token": "t0ken"}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"limit": "spine*"}, "options differ: --limit (the plan's: 'leaf*', given: 'spine*')"),
        ({"tags": ("check",)}, "options differ: --tags (the plan's: upgrade, given: check)"),
        ({"lab": True}, "options differ: --lab"),
        ({"extra_vars": {"token": "other"}}, "options differ: -e token (not the value"),
        ({"extra_vars": {"token": "t0ken", "ticket": "CHG-8"}}, "options differ: -e ticket"),
    ],
)
def test_an_option_that_is_not_the_plan_s_is_refused(given: dict[str, Any], message: str) -> None:
    with pytest.raises(Refused) as refused:
        check_options(options(), {"extra_vars": {"token": "t0ken"}, **given})
    assert str(refused.value).startswith(message)


def test_a_secret_left_out_is_a_bad_option() -> None:
    with pytest.raises(BadOptions, match="the plan's -e token is secret and not in the plan"):
        check_options(options(), {})


def test_a_digest_matches_only_its_value() -> None:
    made = digest({"a": [1, "x"]})
    assert digest_matches({"a": [1, "x"]}, made)
    assert not digest_matches({"a": [1, "y"]}, made)
    assert not digest_matches("x", "md5$1$00$00")
