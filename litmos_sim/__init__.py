"""Litmos API simulator: a seeded org served over HTTP with the documented rules, quirks and faults.

    from litmos_sim import Simulator, SimConfig, run_simulator
    with run_simulator(SimConfig(seed=1, scale=200, now=datetime(2026, 1, 15, tzinfo=timezone.utc))) as sim:
        sim.base_url, sim.api_key, sim.ground_truth("/org/results/details")
"""
from .config import DEFAULT_API_KEY, SimConfig
from .simulator import RequestRecord, Simulator, run_simulator

__all__ = ["DEFAULT_API_KEY", "RequestRecord", "SimConfig", "Simulator", "run_simulator"]
