"""A tenant's failed request names the tenant's own settings (SOURCES__LITMOS__TENANTS__<NAME>__...)."""
from __future__ import annotations

import pytest

from .fake_api import fake_api
from sources.litmos import litmos_options, make_client, probe_server_clock
from sources.litmos.exceptions import LitmosAuthError, LitmosConfigError, LitmosConnectionError

KEY = "S3cr3t-K3y-0123456789"
FORBIDDEN = (403, b"<html><body><h1>403 Forbidden</h1></body></html>", {"Content-Type": "text/html"})


def _rejected(tenant: str | None) -> str:
    with fake_api(lambda p, q, h: FORBIDDEN) as api:
        client = make_client(litmos_options(api_key=KEY, base_url=api.base_url, tenant=tenant,
                                            requests_per_minute=0))
        with pytest.raises(LitmosAuthError) as info:
            probe_server_clock(client)
        client.close()
    assert KEY not in str(info.value)
    return str(info.value)


def test_rejected_key_of_a_tenant_names_its_variables():
    assert _rejected("acme_eu") == (
        "GET /org/teams: HTTP 403 Forbidden (403 Forbidden) - the API key was rejected; check "
        "SOURCES__LITMOS__TENANTS__ACME_EU__API_KEY (an administrator's key), SOURCES__LITMOS__TENANTS__ACME_EU__SOURCE "
        "and that SOURCES__LITMOS__TENANTS__ACME_EU__BASE_URL is your region's host")


def test_rejected_key_of_the_single_org_is_unchanged():
    assert _rejected(None) == (
        "GET /org/teams: HTTP 403 Forbidden (403 Forbidden) - the API key was rejected; check "
        "SOURCES__LITMOS__API_KEY (an administrator's key), SOURCES__LITMOS__SOURCE and that "
        "SOURCES__LITMOS__BASE_URL is your region's host")


def test_unreachable_host_of_a_tenant_names_its_base_url():
    client = make_client(litmos_options(api_key=KEY, base_url="http://127.0.0.1:9/v1.svc", tenant="beta",
                                        requests_per_minute=0, max_retries=0, backoff_base=0))
    with pytest.raises(LitmosConnectionError, match="check SOURCES__LITMOS__TENANTS__BETA__BASE_URL and the network"):
        probe_server_clock(client)
    client.close()


def test_missing_key_of_a_tenant_names_its_variable():
    with pytest.raises(LitmosConfigError) as info:
        litmos_options(api_key="", tenant="beta")
    assert str(info.value) == ("no Litmos API key: set SOURCES__LITMOS__TENANTS__BETA__API_KEY or "
                               "sources.litmos.tenants.beta.api_key in .dlt/secrets.toml")
