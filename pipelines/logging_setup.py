"""Logging for the CLI: human text or one JSON object per line, always with the API key redacted.

Log lines go to stderr so stdout stays clean for summaries that scripts may parse. `--quiet` keeps only
errors (cron mails nothing on a good night).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import IO, Any, Sequence

from sources.litmos.exceptions import RedactingFilter

LOGGER_NAME = "litmos_sync"
# Loggers of the parts we drive; their records get the same format and redaction.
_OUR_LOGGERS = (LOGGER_NAME, "pipelines", "sources")

# LogRecord attributes that are not user "extra" fields.
_STANDARD_ATTRS = RedactingFilter._STANDARD


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, plus any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: A003
        doc: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                doc[key] = value
        if record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    """`2026-01-02T03:04:05Z INFO message key=value ...` (extras appended for grep-ability)."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: A003
        ts = dt.datetime.fromtimestamp(record.created, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        extras = " ".join(
            f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")
        )
        line = f"{ts} {record.levelname} {record.getMessage()}"
        line = f"{line} {extras}" if extras else line
        return f"{line}\n{record.exc_text}" if record.exc_text else line


class _PinnedFormatHandler(logging.StreamHandler):
    """A stream handler whose formatter cannot be replaced once set.

    dlt re-formats whatever handler it finds on the `dlt` logger when a pipeline starts; pinning keeps
    one format (text or JSON) for every line the CLI prints.
    """

    def setFormatter(self, fmt: logging.Formatter | None) -> None:  # noqa: N802 - logging API name
        if self.formatter is None:
            super().setFormatter(fmt)


def configure_logging(log_format: str = "text", quiet: bool = False, secrets: Sequence[str | None] = (),
                      stream: IO[str] | None = None) -> logging.Logger:
    """Set up our loggers and quiet down the libraries'.

    Args:
        log_format: "text" or "json".
        quiet: Only errors.
        secrets: Values to redact from every record (the API key).
        stream: Where to write (default: sys.stderr at call time, so tests can capture it).

    Returns:
        The `litmos_sync` logger.
    """
    handler = _PinnedFormatHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(secrets))
    level = logging.ERROR if quiet else logging.INFO
    for name in _OUR_LOGGERS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    # dlt and dbt are chatty at INFO; their warnings still matter (e.g. schema drift).
    for name in ("dlt", "dbt", "urllib3", "litmos_sim"):
        lib = logging.getLogger(name)
        lib.setLevel(logging.ERROR if quiet else logging.WARNING)
        for old in list(lib.handlers):
            lib.removeHandler(old)
        lib.addHandler(handler)
        lib.propagate = False
    return logging.getLogger(LOGGER_NAME)
