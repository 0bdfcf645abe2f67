"""Several orgs behind one server: the API key picks the org; data, clock, rate budget and control per org."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests

from litmos_sim import SimConfig, fleet_configs, run_fleet, run_simulator
from litmos_sim.fleet import Fleet
from litmos_sim.timefmt import http_date, to_ms

from .conftest import NOW, ORG, fmt, get
from .test_paging_formats import check_against_truth, fetch_all

WINDOW = {"since": "2026-01-08 00:00:00", "to": "2026-01-15 00:00:00"}


def _ids(records: list[dict], key: tuple[str, ...]) -> set[tuple]:
    return {tuple(str(r[f]) for f in key) for r in records}


def test_names_keys_and_seeds_are_derived_in_order():
    names, configs = fleet_configs(3, SimConfig(seed=5, scale=20, history_days=9))
    assert names == ["org01", "org02", "org03"]
    assert [c.api_key for c in configs] == ["litmos-sim-key-org01", "litmos-sim-key-org02", "litmos-sim-key-org03"]
    assert [(c.seed, c.scale, c.history_days) for c in configs] == [(5, 20, 9), (6, 20, 9), (7, 20, 9)]
    assert fleet_configs(100)[0][:2] == ["org001", "org002"]


def test_each_org_answers_its_own_ground_truth_only(make_litmos_fleet):
    fleet = make_litmos_fleet(3, scale=60)
    assert fleet.names == ["org01", "org02", "org03"]
    assert {sim.base_url for sim in fleet.orgs.values()} == {fleet.base_url}
    path, item = "/org/users/details", ORG["/org/users/details"][1]
    key = fleet.orgs["org01"].keys(path)
    truths = {name: _ids(sim.ground_truth(path), key) for name, sim in fleet.orgs.items()}
    assert not truths["org01"] & truths["org02"] and not truths["org02"] & truths["org03"]
    for name, sim in fleet.orgs.items():
        records, _ = fetch_all(sim, path, item, limit=1000)
        check_against_truth(sim, path, records)
        assert _ids(records, key) == truths[name]
        teams = get(sim, "/org/teams", **WINDOW)
        assert teams.status_code == 200
    # Each org's log holds its own requests only.
    counts = [sim.stats()["requests"] for sim in fleet.orgs.values()]
    assert counts[0] == counts[1] == counts[2] > 1
    assert all(r.path in (path, "/org/teams") for sim in fleet.orgs.values() for r in sim.requests())


def test_an_org_of_a_fleet_serves_what_the_same_single_org_serves(make_litmos_fleet):
    fleet = make_litmos_fleet(2, scale=40)
    org2 = fleet.orgs["org02"]
    with run_simulator(org2.config) as single:
        for path in ("/org/results/details", "/org/users/logins", "/org/teams"):
            a = get(org2, path, **WINDOW, limit=1000)
            b = get(single, path, **WINDOW, limit=1000)
            assert (a.status_code, a.text) == (b.status_code, b.text), path


def _answer(resp: requests.Response) -> tuple:
    headers = {k: v for k, v in resp.headers.items() if k != "Date"}
    return resp.status_code, resp.text, headers


def test_unknown_key_gets_exactly_the_wrong_key_response(make_litmos_fleet):
    fleet = make_litmos_fleet(2, scale=20)
    org1 = fleet.orgs["org01"]
    with run_simulator(SimConfig(seed=1, scale=20, api_key="single-key", now=NOW)) as single:
        cases = [
            ({}, {}),                                              # no key
            ({"apikey": "wrong"}, {}),                            # wrong header key
            ({}, {"apikey": "wrong"}),                            # wrong query key
            ({"APIKEY": "wrong"}, {"apikey": "{right}"}),         # the header wins, as today
            ({"apikey": ""}, {"apikey": "{right}"}),              # an empty header is a wrong key
        ]
        for headers, params in cases:
            answers = []
            for server, right in ((single, "single-key"), (fleet, org1.api_key)):
                p = {k: v.replace("{right}", right) for k, v in params.items()}
                resp = requests.get(server.base_url + "/org/teams", params={"source": "t", **WINDOW, **p},
                                    headers=headers, timeout=10)
                answers.append(_answer(resp))
            assert answers[0] == answers[1], (headers, params)
            assert answers[0][0] == 403
            assert answers[0][1] == "Forbidden: missing or invalid API key; send it in the 'apikey' request header"
        # Any org's key in the query parameter picks that org; any case of the parameter name.
        ok = requests.get(fleet.base_url + "/org/teams", params={"source": "t", **WINDOW,
                                                                "ApiKey": fleet.orgs["org02"].api_key}, timeout=10)
        assert ok.status_code == 200
    assert [r.status for r in fleet.orgs["org02"].requests()] == [200]
    assert org1.requests() == []
    rejected = fleet.rejected_requests()
    assert [(r.path, r.status) for r in rejected] == [("/org/teams", 403)] * len(cases)
    assert all("apikey" not in {k.lower() for k in r.params} for r in rejected)
    assert requests.get(fleet.root_url + "/_sim/rejected", timeout=10).json()[0]["status"] == 403
    assert requests.delete(fleet.root_url + "/_sim/rejected", timeout=10).json() == {"status": "cleared"}
    assert fleet.rejected_requests() == []


def test_date_header_comes_from_the_clock_of_the_key_s_org():
    nows = [NOW, NOW - timedelta(days=40, hours=3), NOW + timedelta(days=300, seconds=7)]
    configs = [SimConfig(seed=i, scale=15, api_key=f"k{i}", now=now) for i, now in enumerate(nows)]
    with run_fleet(configs, names=["a", "b", "c"]) as fleet:
        for name, now in zip("abc", nows):
            resp = get(fleet.orgs[name], "/org/teams", **WINDOW)
            assert resp.status_code == 200
            assert resp.headers["Date"] == http_date(to_ms(now)), name
        adv = requests.post(fleet.orgs["b"].control_url + "/clock", json={"advance_seconds": 3600}, timeout=30)
        assert adv.json()["now"] == (nows[1] + timedelta(hours=1)).isoformat()
        assert get(fleet.orgs["b"], "/org/teams", **WINDOW).headers["Date"] == http_date(to_ms(nows[1]) + 3_600_000)
        assert get(fleet.orgs["a"], "/org/teams", **WINDOW).headers["Date"] == http_date(to_ms(nows[0]))
        assert fleet.orgs["c"].now() == nows[2]
        # Without a known key: the first org's clock (documented).
        assert get(fleet.orgs["a"], "/org/teams", key=None, **WINDOW).headers["Date"] == http_date(to_ms(nows[0]))


def test_rate_budgets_are_per_key(make_litmos_fleet):
    fleet = make_litmos_fleet(3, scale=15, rate_limit=3)
    a, b, c = fleet.orgs.values()
    assert [get(a, "/org/teams", **WINDOW).status_code for _ in range(3)] == [200] * 3
    over = get(a, "/org/teams", **WINDOW)
    assert (over.status_code, over.text) == (503, "The API rating limit has been exceeded")
    # a is out of budget; b and c each still have their own 3 requests: 9 accepted in all.
    assert [get(b, "/org/teams", **WINDOW).status_code for _ in range(3)] == [200] * 3
    assert [get(c, "/org/teams", **WINDOW).status_code for _ in range(3)] == [200] * 3
    assert get(b, "/org/teams", **WINDOW).status_code == 503
    assert get(a, "/org/teams", **WINDOW).status_code == 503
    assert [s.stats()["by_status"] for s in (a, b, c)] == [{200: 3, 503: 2}, {200: 3, 503: 1}, {200: 3}]
    assert [s.stats()["by_fault"] for s in (a, b, c)] == [{"rate_limit": 2}, {"rate_limit": 1}, {}]


def test_control_endpoints_per_org(make_litmos_fleet):
    fleet = make_litmos_fleet(3, scale=30)
    root = fleet.root_url + "/_sim"
    listing = requests.get(root + "/orgs", timeout=10).json()
    assert listing == [{"name": f"org0{i}", "api_key": f"litmos-sim-key-org0{i}", "seed": i, "scale": 30,
                        "history_days": 60, "now": NOW.isoformat(), "rate_limit": None} for i in (1, 2, 3)]
    assert requests.get(root + "/orgs/org02", timeout=10).json() == listing[1]
    assert requests.get(root + "/health", timeout=10).json() == {"status": "ok", "orgs": 3}
    org1, org2 = fleet.orgs["org01"], fleet.orgs["org02"]
    assert org2.control_url == root + "/orgs/org02"

    truth = requests.get(org2.control_url + "/ground_truth", params={"endpoint": "/org/teams"}, timeout=10).json()
    assert truth["key"] == ["Id"]
    assert [r["Id"] for r in truth["records"]] == [r["Id"] for r in org2.ground_truth("/org/teams")]
    assert [r["Id"] for r in truth["records"]] != [r["Id"] for r in org1.ground_truth("/org/teams")]

    adv = requests.post(org2.control_url + "/clock", json={"advance_seconds": 7200}, timeout=30).json()
    assert adv["now"] == (NOW + timedelta(hours=2)).isoformat() and adv["events"] and len(org2.activity_log) == 1
    assert org1.now() == NOW and fleet.orgs["org03"].now() == NOW and len(org1.activity_log) == 0
    assert requests.get(org1.control_url + "/clock", timeout=10).json() == {"now": NOW.isoformat(), "frozen": True}

    assert requests.post(org2.control_url + "/faults", json={"fail_rate": 1.0}, timeout=10).json() == {"status": "ok"}
    assert get(org2, "/org/teams", **WINDOW).status_code >= 500
    assert get(org1, "/org/teams", **WINDOW).status_code == 200
    log = requests.get(org2.control_url + "/requests", timeout=10).json()
    assert [(x["path"], x["fault"]) for x in log] == [("/org/teams", "error")]
    assert requests.get(org1.control_url + "/stats", timeout=10).json()["by_status"] == {"200": 1}

    clash = requests.post(org2.control_url + "/reset", json={"api_key": org1.api_key}, timeout=10)
    assert clash.status_code == 400
    assert clash.json() == {"error": "api_key is the key of org 'org01'; give every org its own key"}
    reset = requests.post(org2.control_url + "/reset", json={"seed": 9}, timeout=30).json()
    assert reset["seed"] == 9 and org2.config.seed == 9 and org1.config.seed == 1
    renamed = requests.post(org2.control_url + "/reset", json={"api_key": "fresh", "fail_rate": 0}, timeout=30)
    assert renamed.status_code == 200 and fleet.by_key("fresh") is org2
    assert get(org2, "/org/teams", **WINDOW).status_code == 200  # org2.api_key is read live

    missing = requests.get(root + "/orgs/nope/clock", timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"error": "no org named 'nope'; GET /_sim/orgs lists the orgs"}
    single_path = requests.get(root + "/clock", timeout=10)
    assert single_path.status_code == 404
    assert single_path.json()["error"] == ("unknown control endpoint GET /_sim/clock; this server hosts 3 orgs: use "
                                           "/_sim/orgs/<name>/<action> (GET /_sim/orgs lists them)")
    assert requests.get(org1.control_url + "/nope", timeout=10).status_code == 404


def test_fleet_rejects_bad_names_and_shared_keys():
    cfg = SimConfig(scale=5)
    for configs, names, message in [
        ([], None, "a fleet needs at least one org"),
        ([cfg, cfg.replace(seed=2)], ["a", "b"], "orgs 'a' and 'b' have the same api_key; give every org its own key"),
        ([cfg], ["a/b"], "org name 'a/b' is invalid; use 1-40 letters, digits, '_' or '-' (starting with a letter "
                         "or digit)"),
        ([cfg, cfg.replace(api_key="x")], ["a", "a"], "org name 'a' is used twice; give every org its own name"),
        ([cfg], ["a", "b"], "got 2 names for 1 orgs; give one name per org"),
    ]:
        try:
            Fleet(configs, names)
        except ValueError as exc:
            assert str(exc) == message
        else:
            raise AssertionError(f"no error for {names}")


def test_default_fixture_and_fixed_names(litmos_fleet, make_litmos_fleet):
    assert litmos_fleet.names == ["org01", "org02", "org03"]
    assert [s.config.scale for s in litmos_fleet.orgs.values()] == [200] * 3
    june = datetime(2025, 6, 1, tzinfo=timezone.utc)
    named = make_litmos_fleet([SimConfig(seed=3, scale=10, api_key="acme-key", now=NOW),
                               SimConfig(seed=4, scale=10, api_key="beta-key", now=june)], names=["acme", "beta"])
    assert named.by_key("beta-key") is named.orgs["beta"] and named.by_key("nope") is None
    assert get(named.orgs["beta"], "/org/teams", since=fmt(datetime(2025, 5, 25)), to=fmt(datetime(2025, 6, 1))
               ).headers["Date"] == "Sun, 01 Jun 2025 00:00:00 GMT"


def test_three_orgs_at_100_a_minute_serve_300_concurrently(make_litmos_fleet):
    from concurrent.futures import ThreadPoolExecutor

    fleet = make_litmos_fleet(3, scale=10, rate_limit=100)

    def burst(sim) -> list[int]:
        with requests.Session() as session:
            session.headers["apikey"] = sim.api_key
            return [session.get(sim.base_url + "/org/teams", params={"source": "t", **WINDOW}, timeout=30).status_code
                    for _ in range(101)]

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(burst, fleet.orgs.values()))
    # Each key's 101st request inside the minute is its first 503, whatever the other keys did.
    assert results == [[200] * 100 + [503]] * 3
