"""Litmos API simulator: a seeded org served over HTTP with the documented rules, quirks and faults.

    from litmos_sim import Simulator, SimConfig, run_simulator
    with run_simulator(SimConfig(seed=1, scale=200, now=datetime(2026, 1, 15, tzinfo=timezone.utc))) as sim:
        sim.base_url, sim.api_key, sim.ground_truth("/org/results/details")

Many orgs behind one server, one per API key (see litmos_sim.fleet):

    from litmos_sim import fleet_configs, run_fleet
    names, configs = fleet_configs(3, SimConfig(scale=50))      # org01..org03, keys litmos-sim-key-org01..
    with run_fleet(configs, names) as fleet:
        fleet.base_url, fleet.orgs["org02"].api_key, fleet.orgs["org02"].ground_truth("/org/teams")
"""
from .config import DEFAULT_API_KEY, SimConfig
from .fleet import Fleet, fleet_configs, org_api_key, org_names, run_fleet
from .simulator import RequestRecord, Simulator, run_simulator

__all__ = ["DEFAULT_API_KEY", "Fleet", "RequestRecord", "SimConfig", "Simulator", "fleet_configs", "org_api_key",
           "org_names", "run_fleet", "run_simulator"]
