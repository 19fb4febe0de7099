"""``LoginRate``: no window of one second holds more than the rate, stop and deadline wake it."""

from __future__ import annotations

import random
import threading
import time

import pytest

from acmerun.acmeos.deadline import DeadlineExceeded, step_deadline
from acmerun.plugins.connections.rate import LoginRate, LoginRateStopped
from acmerun.stop import StopToken


def test_no_second_holds_more_logins_than_the_rate() -> None:
    """What a device logs: one moment inside each login; no nine of them within a second."""
    rate = LoginRate(8)
    moments: list[float] = []
    lock = threading.Lock()
    rng = random.Random(7)
    pauses = [rng.uniform(0, 0.05) for _ in range(40)]

    def log_in(pause: float) -> None:
        with rate.login():
            seen = time.monotonic()  # the device logs the login here, inside the permit
            threading.Event().wait(pause)  # the login's own time, as a slow device takes it
            with lock:
                moments.append(seen)

    threads = [threading.Thread(target=log_in, args=(p,)) for p in pauses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(moments) == 40
    moments.sort()
    # nine moments within one second would mean the ninth login to start found eight others
    # in flight or ended less than a second before it
    spans = [moments[i + 8] - moments[i] for i in range(len(moments) - 8)]
    assert min(spans) >= 1.0 - 1e-6
    waited = rate.waited()
    assert waited.logins == 40 and waited.held >= 40 - 8 and waited.seconds > 0


def test_an_interrupt_wakes_every_waiter_at_once() -> None:
    stop = StopToken()
    rate = LoginRate(1, stop)
    stopped: list[BaseException] = []
    with rate.login():
        pass

    def wait() -> None:
        try:
            with rate.login():
                pass
        except LoginRateStopped as exc:
            stopped.append(exc)

    threads = [threading.Thread(target=wait) for _ in range(5)]
    for t in threads:
        t.start()
    sent = time.monotonic()
    stop.interrupt()
    for t in threads:
        t.join(5)
    assert time.monotonic() - sent < 0.9  # before the next permit frees up
    assert len(stopped) == 5
    assert str(stopped[0]) == "run interrupted while waiting to log in (connect_rate 1/s)"


def test_a_waiter_stops_at_its_steps_deadline() -> None:
    rate = LoginRate(1)
    with rate.login():
        pass
    begun = time.monotonic()
    with pytest.raises(DeadlineExceeded), step_deadline(0.2), rate.login():
        pass
    assert 0.15 < time.monotonic() - begun < 0.9


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "fast"])
def test_a_rate_is_a_whole_number_from_one(bad: object) -> None:
    with pytest.raises(ValueError, match="connect_rate must be a whole number from 1"):
        LoginRate(bad)  # type: ignore[arg-type]
