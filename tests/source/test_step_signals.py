"""A SIGTERM that arrives while dlt normalizes or loads ends the run; dlt alone would forget it.

dlt's normalize and load intercept SIGINT/SIGTERM (to drain their pools) and clear the signal when the
step returns without acting on it, so a run told to stop would go on to the end and exit 0.
"""
from __future__ import annotations

import os
import signal

import pytest
from dlt.common.runtime import signals

from pipelines import batches


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
