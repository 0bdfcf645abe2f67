"""Logging for the CLI: text or JSON lines on stderr (stdout stays for summaries), secrets redacted."""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import IO, Any, Sequence

from sources.litmos.exceptions import RedactingFilter

LOGGER_NAME = "litmos_sync"
_OUR_LOGGERS = (LOGGER_NAME, "pipelines", "sources")
# dlt and dbt are chatty at INFO; their warnings still matter (e.g. schema drift).
_LIBRARY_LOGGERS = ("dlt", "dbt", "urllib3", "litmos_sim")


class LineFormatter(logging.Formatter):
    """`2026-01-02T03:04:05Z INFO message key=value` lines, or (`as_json`) one JSON object per line with
    ts, level, logger, msg and the `extra=` fields."""

    def __init__(self, as_json: bool = False) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:  # noqa: A003
        extras = {k: v for k, v in vars(record).items() if k not in RedactingFilter._STANDARD and k[:1] != "_"}
        ts = dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
        if self.as_json:
            doc = {"ts": ts.isoformat(timespec="milliseconds"), "level": record.levelname.lower(),
                   "logger": record.name, "msg": record.getMessage(), **extras}
            if record.exc_text:
                doc["exc"] = record.exc_text
            return json.dumps(doc, default=str)
        line = " ".join([f"{ts:%Y-%m-%dT%H:%M:%SZ} {record.levelname} {record.getMessage()}",
                         *(f"{k}={v}" for k, v in extras.items())])
        return f"{line}\n{record.exc_text}" if record.exc_text else line


class _PinnedFormatHandler(logging.StreamHandler):
    """A stream handler whose formatter, once set, stays: dlt re-formats the `dlt` logger's handlers."""

    def setFormatter(self, fmt: logging.Formatter | None) -> None:  # noqa: N802 - logging API name
        if self.formatter is None:
            super().setFormatter(fmt)


def configure_logging(log_format: str = "text", quiet: bool = False, secrets: Sequence[str | None] = (),
                      stream: IO[str] | None = None) -> logging.Logger:
    """Sets up our loggers (only errors when ``quiet``) and quiets the libraries'; returns `litmos_sync`'s.

    ``stream`` defaults to sys.stderr at call time, so tests can capture it.
    """
    handler = _PinnedFormatHandler(stream or sys.stderr)
    handler.setFormatter(LineFormatter(as_json=log_format == "json"))
    handler.addFilter(RedactingFilter(secrets))
    ours, libraries = (logging.ERROR, logging.ERROR) if quiet else (logging.INFO, logging.WARNING)
    for names, level in ((_OUR_LOGGERS, ours), (_LIBRARY_LOGGERS, libraries)):
        for name in names:
            logger = logging.getLogger(name)
            for old in list(logger.handlers):
                logger.removeHandler(old)
            logger.addHandler(handler)
            logger.setLevel(level)
            logger.propagate = False
    return logging.getLogger(LOGGER_NAME)
