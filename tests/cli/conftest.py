"""CLI test fixtures: leave global logging as found, so other folders' caplog-based tests still work."""
from __future__ import annotations

import logging

import pytest

from pipelines.logging_setup import _OUR_LOGGERS

_TOUCHED = (*_OUR_LOGGERS, "dlt", "dbt", "urllib3", "litmos_sim")


@pytest.fixture(autouse=True)
def _restore_logging():
    saved = {name: (list(lg.handlers), lg.level, lg.propagate)
             for name in _TOUCHED for lg in [logging.getLogger(name)]}
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
