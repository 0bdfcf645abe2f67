"""Errors of the Litmos source (one line: what was wrong and how to fix it, never the key) and the
one redactor of secrets."""
from __future__ import annotations

import logging
import re
from typing import Iterable


class LitmosError(Exception):
    """Base class of every error the Litmos source raises on purpose."""


class LitmosConfigError(LitmosError):
    """Bad input from the user: unknown resource, bad date, missing key or base URL."""


class LitmosAuthError(LitmosError):
    """The API answered 401/403: the key (or its access level, or the region's host) is wrong."""


class LitmosRequestError(LitmosError):
    """The API rejected the request itself (400/404/406), e.g. a since/to range over 7 days."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LitmosNotFoundError(LitmosRequestError):
    """404 for a single object (GET /modules/{id} of a module that is not SCORM/Tin Can)."""


class LitmosRedirectError(LitmosRequestError):
    """A redirect not followed: to another origin (the key would go with it) or too many hops."""


class LitmosUnavailableError(LitmosError):
    """5xx / 503 rate-limit answers that did not stop within the retry budget."""


class LitmosConnectionError(LitmosError):
    """The host could not be reached (DNS, refused, timeouts) within the retry budget."""


class LitmosMalformedResponseError(LitmosError):
    """The body could not be parsed (truncated or not XML/JSON) within the retry budget."""


class LitmosUndecodableError(LitmosMalformedResponseError):
    """The body is not valid UTF-8; ``transient`` is False when the same bytes came back (rejects.py)."""

    def __init__(self, message: str, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class Cancelled(LitmosError):
    """The run stopped (another task failed, or Ctrl-C): queued and waiting requests give up quietly."""


_KEY_IN_QUERY = re.compile(r"(apikey=)[^&\s\"']*", re.IGNORECASE)
# Shorter "secrets" (test keys, an empty password) would mangle ordinary words.
MIN_SECRET_LENGTH = 4


def redact(text: str, secrets: Iterable[str | None] | str | None = ()) -> str:
    """``text`` with ``apikey=...`` query values and every one of ``secrets`` replaced by ``***``."""
    text = _KEY_IN_QUERY.sub(r"\1***", text)
    for secret in [secrets] if isinstance(secrets, str) else (secrets or ()):
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    """Passes every record's message, string extras and traceback through :func:`redact`."""

    _STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_SECRET_LENGTH and secret not in self.secrets:
            self.secrets.append(secret)

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 - logging API name
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        for key, value in list(vars(record).items()):
            if key not in self._STANDARD and isinstance(value, str):
                setattr(record, key, redact(value, self.secrets))
        if record.exc_info:  # rendered later from exc_info: render now to redact it
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True
