"""Errors raised by the Litmos source, all rooted at :class:`LitmosError`.

Every message is one line that names what was wrong (usually the endpoint) and how to fix it. Messages
never contain the API key: callers build them from the endpoint path and the parameters only, and the
client scrubs any server text it quotes through :func:`redact`.
"""
from __future__ import annotations

import re


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
    """The API answered with a redirect the client does not follow: to another origin (the key would go
    with it) or more than a few hops. Never retried."""


class LitmosUnavailableError(LitmosError):
    """5xx / 503 rate-limit answers that did not stop within the retry budget."""


class LitmosConnectionError(LitmosError):
    """The host could not be reached (DNS, refused, timeouts) within the retry budget."""


class LitmosMalformedResponseError(LitmosError):
    """The body could not be parsed (truncated or not XML/JSON) within the retry budget."""


class LitmosUndecodableError(LitmosMalformedResponseError):
    """The body is not valid UTF-8. Retried once (a body cut inside a character looks the same); when the
    same bytes come back, the records that decode load and the others are quarantined (rejects.py).

    Attributes:
        transient: False when retrying cannot help (the server sent these exact bytes before).
    """

    def __init__(self, message: str, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class Cancelled(LitmosError):
    """The run stopped (another task failed, or Ctrl-C): queued and waiting requests give up quietly."""


_KEY_IN_QUERY = re.compile(r"(apikey=)[^&\s\"']*", re.IGNORECASE)


def redact(text: str, secret: str | None = None) -> str:
    """Removes the API key from a piece of text (query strings and the literal value).

    Args:
        text: Any text that may quote a URL or a header.
        secret: The API key itself, replaced wherever it appears.

    Returns:
        The text with ``apikey=...`` values and the key replaced by ``***``.
    """
    text = _KEY_IN_QUERY.sub(r"\1***", text)
    if secret:
        text = text.replace(secret, "***")
    return text
