"""The one-line messages of failed requests: the path, a tag-free and key-free snippet of the answer,
and which setting to check (``env``: the settings' prefix, a tenant's own from :func:`env_prefix`)."""
from __future__ import annotations

import re

import requests

from .exceptions import (
    LitmosAuthError,
    LitmosConnectionError,
    LitmosMalformedResponseError,
    LitmosNotFoundError,
    LitmosRequestError,
    LitmosUnavailableError,
    redact,
)

SINGLE_ORG_ENV = "SOURCES__LITMOS__"
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def env_prefix(tenant: str | None) -> str:
    """``SOURCES__LITMOS__``, or ``SOURCES__LITMOS__TENANTS__<NAME>__`` for a tenant's own section."""
    return f"{SINGLE_ORG_ENV}TENANTS__{tenant.upper()}__" if tenant else SINGLE_ORG_ENV


def base_url_advice(env: str = SINGLE_ORG_ENV) -> str:
    return f"check {env}BASE_URL (your region's API host, e.g. https://api.litmos.com/v1.svc)"


def snippet(body: bytes, secret: str, limit: int = 160) -> str:
    """First words of an error body as one line (HTML tags stripped, key removed)."""
    text = body[:4000].decode("utf-8", "replace")
    text = _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()
    text = redact(text, secret)
    return f"({text[:limit]})" if text else ""


def client_error(where: str, status: int, body: bytes, secret: str, env: str = SINGLE_ORG_ENV) -> Exception:
    detail = snippet(body, secret)
    if status in (401, 403):
        return LitmosAuthError(
            f"{where}: HTTP {status} Forbidden {detail} - the API key was rejected; check "
            f"{env}API_KEY (an administrator's key), {env}SOURCE and that {env}BASE_URL is your region's host"
        )
    if status == 404:
        return LitmosNotFoundError(
            f"{where}: HTTP 404 Not Found {detail} - check {env}BASE_URL (it must end "
            "in /v1.svc) and the id in the path", status
        )
    if status in (400, 406):
        return LitmosRequestError(
            f"{where}: HTTP {status} {detail} - the API rejected the parameters; since/to must be "
            "'YYYY-MM-DD HH:MM:SS' at most 7 days apart, limit 1..1000, source <= 50 characters", status
        )
    return LitmosRequestError(f"{where}: HTTP {status} {detail} - unexpected client error", status)


def give_up(kind: type[Exception], where: str, base_url: str, attempts: int, problem: str,
            env: str = SINGLE_ORG_ENV) -> Exception:
    if kind is LitmosConnectionError:
        return LitmosConnectionError(
            f"{where}: cannot reach {base_url} after {attempts} attempts ({problem}); check "
            f"{env}BASE_URL and the network, then rerun (loaded data is kept)"
        )
    if kind is LitmosMalformedResponseError:
        return LitmosMalformedResponseError(
            f"{where}: unreadable response after {attempts} attempts ({problem}); a sign-in page, proxy or "
            f"other server may be answering: check that {env}BASE_URL is the Litmos API host, then "
            "rerun (loaded data is kept)"
        )
    return LitmosUnavailableError(
        f"{where}: still failing after {attempts} attempts ({problem}); the API is rate limiting or "
        "down - lower requests_per_minute or rerun later (loaded data is kept)"
    )


def describe_network_error(exc: requests.exceptions.RequestException) -> str:
    """A short, key-free description (requests' messages quote the full URL)."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if "NameResolution" in text or "Name or service not known" in text or "getaddrinfo" in text:
        return "DNS lookup failed"
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return "connection dropped mid-body"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection dropped"
    return type(exc).__name__
