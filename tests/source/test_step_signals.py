"""A SIGTERM that arrives while dlt normalizes or loads ends the run; dlt alone would forget it.

dlt's normalize and load intercept SIGINT/SIGTERM (to drain their pools) and clear the signal when the
step returns without acting on it, so a run told to stop would go on to the end and exit 0.
"""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from dlt.common.runtime import signals

from pipelines import batches, run_errors


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _step_named(name: str):
    def step():
        with signals.intercepted_signals():  # what dlt's own step does
            os.kill(os.getpid(), signal.SIGTERM)
        return "done"

    step.__name__ = name
    return step


@pytest.fixture
def sigterm_interrupts():
    previous = signal.signal(signal.SIGTERM, _interrupt)  # as the CLI installs it
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize("name", ["normalize", "load"])
def test_a_signal_during_a_deferring_step_is_raised_after_it(name, sigterm_interrupts):
    with pytest.raises(KeyboardInterrupt):
        batches._step(_step_named(name))
    assert signal.getsignal(signal.SIGTERM) is _interrupt  # the CLI's handler is back


def test_without_our_interception_dlt_forgets_the_signal(sigterm_interrupts):
    # The reason for the wrapper: the same step called bare returns as if nothing happened.
    assert _step_named("load")() == "done"


def test_a_step_without_a_signal_returns_its_result(sigterm_interrupts):
    def load():
        return 42

    assert batches._step(load) == 42


class _Finalised:
    """Its finaliser is where the signal lands, as in dlt's DuckDbConnectionPool.__del__ during a run."""

    def __init__(self, error: BaseException | None = None):
        self.error = error

    def __del__(self):
        if self.error is not None:
            raise self.error
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler runs here; Python drops its KeyboardInterrupt ("Exception ignored in")


def test_python_drops_a_signal_that_lands_in_a_finaliser(sigterm_interrupts, monkeypatch):
    # The reason for run_errors.interrupts: a bare handler's KeyboardInterrupt is lost and the run goes on.
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u.exc_type))
    _Finalised()
    run_errors.raise_if_interrupted()
    assert seen == [KeyboardInterrupt]


def test_a_signal_dropped_in_a_finaliser_is_raised_at_the_next_step_which_does_not_run():
    went_on, loads = [], []

    def load():
        loads.append(1)

    with pytest.raises(KeyboardInterrupt):
        with run_errors.interrupts():
            _Finalised()
            went_on.append(1)
            batches._step(load)
    assert (went_on, loads) == ([1], [])


def test_a_dropped_signal_is_raised_once_and_leaving_the_block_raises_it_too():
    with run_errors.interrupts():
        _Finalised()
        with pytest.raises(KeyboardInterrupt):
            run_errors.raise_if_interrupted()
        run_errors.raise_if_interrupted()  # said once
    with pytest.raises(KeyboardInterrupt):
        with run_errors.interrupts():
            _Finalised()
    run_errors.raise_if_interrupted()  # the block's end forgets it


def test_a_signal_raised_where_it_lands_is_not_raised_again_and_other_drops_are_reported(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u.exc_type))
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with run_errors.interrupts():
            _Finalised(ValueError("not ours"))
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    run_errors.raise_if_interrupted()
    assert seen == [ValueError]
    assert signal.getsignal(signal.SIGTERM) is previous and sys.unraisablehook is not None


def test_a_signal_at_the_very_end_of_a_deferred_step_is_raised_not_forgotten():
    """dlt's interception clears its flag on exit: a signal after the last check inside it was lost (seen: a
    SIGTERM during a loaded CI run, the run exited 0). batches._deferred_signals reads it after the exit."""
    seen = []
    before = signal.signal(signal.SIGTERM, lambda *_: seen.append("outside"))
    try:
        with signals.intercepted_signals():
            signal.raise_signal(signal.SIGTERM)  # the step's last moment: nothing checks after it
        assert not signals.was_signal_received()  # dlt forgot it: the old way lost the signal

        with pytest.raises(KeyboardInterrupt):
            with batches._deferred_signals():
                signal.raise_signal(signal.SIGTERM)
        assert not signals.was_signal_received() and seen == []
        assert signal.getsignal(signal.SIGTERM) is not signals._signal_receiver
        # A step with no signal leaves quietly, and the handlers as they were.
        with batches._deferred_signals():
            pass
        signal.raise_signal(signal.SIGTERM)
        assert seen == ["outside"]
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_signal_during_extract_is_raised_after_the_step_not_inside_it():
    """Raised at once, a KeyboardInterrupt during extraction could land in an import lock the fetching threads
    wait on, and the run hung (a CI failure); the extract step now defers it like normalize and load."""
    done = []

    def extract():
        signal.raise_signal(signal.SIGTERM)
        done.append("the rest of the step")  # dlt stops at its next item; nothing is cut in the middle

    before = signal.signal(signal.SIGTERM, run_errors._raise_interrupt)  # the CLI's handler: raises at once
    try:
        with pytest.raises(KeyboardInterrupt):
            batches._step(extract)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert done == ["the rest of the step"]
    assert not signals.was_signal_received()
