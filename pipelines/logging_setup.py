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


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra=` fields."""
    return {k: v for k, v in vars(record).items() if k not in RedactingFilter._STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, plus any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: A003
        doc: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        if record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    """`2026-01-02T03:04:05Z INFO message key=value ...` (extras appended for grep-ability)."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: A003
        ts = dt.datetime.fromtimestamp(record.created, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{ts} {record.levelname} {record.getMessage()}"
        line = f"{line} {extras}" if extras else line
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
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
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
