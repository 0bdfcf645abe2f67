"""Tenant configuration the dlt way: environment and .dlt/*.toml, names, datasets and one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pipelines import tenants
from pipelines.config import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("SOURCES__LITMOS__"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_environment_tenants_with_inherited_and_own_settings(clean_env):
    clean_env.setenv("SOURCES__LITMOS__SOURCE", "corp-sync")
    clean_env.setenv("SOURCES__LITMOS__TENANTS__ACME__API_KEY", "k-acme")
    clean_env.setenv("SOURCES__LITMOS__TENANTS__ACME__BASE_URL", "eu")
    clean_env.setenv("SOURCES__LITMOS__TENANTS__BETA_AU__API_KEY", "k-beta")
    clean_env.setenv("SOURCES__LITMOS__TENANTS__BETA_AU__SOURCE", "beta-src")
    got = tenants.load_tenants()
    assert [(t.name, t.base_url, t.source, t.pipeline_name, t.dataset()) for t in got] == [
        ("acme", "https://api.litmoseu.com/v1.svc", "corp-sync", "litmos__acme", "litmos_raw__acme"),
        ("beta_au", "https://api.litmos.com/v1.svc", "beta-src", "litmos__beta_au", "litmos_raw__beta_au"),
    ]
    assert [t.api_key for t in got] == ["k-acme", "k-beta"]
    assert "k-acme" not in repr(got)  # the key never shows in a repr (logs, tracebacks)
    assert tenants.select(got, "beta_au", "dev_raw")[0].dataset("dev_raw") == "dev_raw__beta_au"


def test_single_org_is_the_default_tenant_with_todays_pipeline_and_dataset(clean_env):
    clean_env.setenv("SOURCES__LITMOS__API_KEY", "k-one")
    (only,) = tenants.load_tenants()
    assert (only.name, only.pipeline_name, only.dataset(), only.api_key) == ("default", "litmos", "litmos_raw", "k-one")
    assert not tenants.many([only])
    clean_env.setenv("SOURCES__LITMOS__TENANTS__ACME__API_KEY", "k-acme")  # added next to it: both
    assert [t.name for t in tenants.load_tenants()] == ["acme", "default"]


@pytest.mark.parametrize("env, message", [
    ({"SOURCES__LITMOS__TENANTS__ACME__BASE_URL": "eu"},
     "tenant acme has no api_key; set SOURCES__LITMOS__TENANTS__ACME__API_KEY (or api_key under "
     "[sources.litmos.tenants.acme] in .dlt/secrets.toml)"),
    ({"SOURCES__LITMOS__TENANTS__9LIVES__API_KEY": "k"},
     "tenant name '9lives' (environment variable SOURCES__LITMOS__TENANTS__9LIVES__API_KEY) is not valid; use "
     "lower-case letters, digits and single underscores, starting with a letter, e.g. "
     "[sources.litmos.tenants.acme_eu] or SOURCES__LITMOS__TENANTS__ACME_EU__API_KEY"),
    ({"SOURCES__LITMOS__TENANTS__A__B__API_KEY": "k"},
     "tenant name 'a__b' (environment variable SOURCES__LITMOS__TENANTS__A__B__API_KEY) is not valid; use "
     "lower-case letters, digits and single underscores, starting with a letter, e.g. "
     "[sources.litmos.tenants.acme_eu] or SOURCES__LITMOS__TENANTS__ACME_EU__API_KEY"),
    ({"SOURCES__LITMOS__TENANTS__acme__API_KEY": "k"},
     "environment variable SOURCES__LITMOS__TENANTS__acme__API_KEY is not a tenant setting; use "
     "SOURCES__LITMOS__TENANTS__<NAME>__API_KEY, __BASE_URL or __SOURCE with the name upper-case, e.g. "
     "SOURCES__LITMOS__TENANTS__ACME__API_KEY"),
    ({"SOURCES__LITMOS__TENANTS__ACME__APIKEY": "k"},
     "environment variable SOURCES__LITMOS__TENANTS__ACME__APIKEY is not a tenant setting; use "
     "SOURCES__LITMOS__TENANTS__<NAME>__API_KEY, __BASE_URL or __SOURCE with the name upper-case, e.g. "
     "SOURCES__LITMOS__TENANTS__ACME__API_KEY"),
    ({"SOURCES__LITMOS__TENANTS__ACME__API_KEY": "k", "SOURCES__LITMOS__TENANTS__ACME__BASE_URL": "ftp:/x"},
     "tenant acme: base URL 'ftp:/x' is not a URL; set SOURCES__LITMOS__TENANTS__ACME__BASE_URL to e.g. "
     "https://api.litmoseu.com/v1.svc (or us/eu/au)"),
])
def test_bad_tenant_settings_are_one_line(clean_env, env, message):
    for key, value in env.items():
        clean_env.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        tenants.load_tenants()
    assert str(info.value) == message


def test_selection_errors(clean_env):
    clean_env.setenv("SOURCES__LITMOS__TENANTS__ACME__API_KEY", "k")
    clean_env.setenv("SOURCES__LITMOS__TENANTS__BETA__API_KEY", "k2")
    got = tenants.load_tenants()
    with pytest.raises(ConfigError, match=r"^unknown tenant\(s\) zeta; configured: acme, beta$"):
        tenants.select(got, "acme,zeta", "litmos_raw")
    assert [t.name for t in tenants.select(got, "beta, acme,beta", "litmos_raw")] == ["beta", "acme"]
    long_base = "r" * 50  # + "__acme" = 56 > 63 - len("_staging")
    with pytest.raises(ConfigError) as info:
        tenants.select(got, None, long_base)
    assert str(info.value) == (f"dataset '{long_base}__acme' of tenant acme is 56 characters; Postgres allows 63 "
                               "and dlt adds _staging for merges, so at most 55: use a shorter tenant name or --dataset")
    with pytest.raises(ConfigError, match="^no Litmos API key; set SOURCES__LITMOS__API_KEY for one org"):
        tenants.select([], None, "litmos_raw")


def test_toml_sections_and_environment_merge(tmp_path):
    """Read in a fresh process: dlt finds .dlt/ in the working directory when it starts."""
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(textwrap.dedent("""
        [sources.litmos]
        source = "corp"
        [sources.litmos.tenants.acme]
        base_url = "https://api.litmoseu.com/v1.svc"
        [sources.litmos.tenants.beta]
        base_url = "au"
        source = "beta-src"
    """))
    (tmp_path / ".dlt" / "secrets.toml").write_text(textwrap.dedent("""
        [sources.litmos.tenants.acme]
        api_key = "k-acme-toml"
        [sources.litmos.tenants.beta]
        api_key = "k-beta-toml"
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__LITMOS__")}
    env.update(PYTHONPATH=ROOT, SOURCES__LITMOS__TENANTS__BETA__API_KEY="k-beta-env",  # the environment wins
               SOURCES__LITMOS__TENANTS__GAMMA__API_KEY="k-gamma")
    code = ("import json; from pipelines.tenants import load_tenants; "
            "print(json.dumps([[t.name, t.api_key, t.base_url, t.source] for t in load_tenants()]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        ["acme", "k-acme-toml", "https://api.litmoseu.com/v1.svc", "corp"],
        ["beta", "k-beta-env", "https://api.litmos.com.au/v1.svc", "beta-src"],
        ["gamma", "k-gamma", "https://api.litmos.com/v1.svc", "corp"],
    ]
    (tmp_path / ".dlt" / "config.toml").write_text("[sources.litmos.tenants.acme]\nbase_url = \"eu\"\napikey = 1\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].endswith(
        "unknown setting(s) apikey in [sources.litmos.tenants.acme] in config.toml; a tenant takes api_key, "
        "base_url, source")
