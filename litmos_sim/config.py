"""Configuration of one simulator instance (data, clock, limits, quirks and faults)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

DEFAULT_API_KEY = "litmos-sim-key"


@dataclass
class SimConfig:
    """Everything that decides what a simulator serves.

    Data-shaping fields (seed, scale, history_days, now) decide the org; the rest only decide how it
    is served. Faults (fail/truncate/drop rates, latency, rate limit) never change data.

    Attributes:
        seed: Seed of every pseudo-random choice about data; the same seed/scale/now gives the same org.
        scale: Number of users in the generated org (everything else is sized from it).
        api_key: The only API key the server accepts.
        history_days: How many days of history the org has up to `now`.
        now: Simulated "now" (tz-aware or naive UTC). None = real wall-clock time, ticking. When given,
            the clock is frozen at it until `advance`/`freeze` moves it.
        rate_limit: Requests per minute per API key (sliding 60 s of real time), None = unlimited.
        rate_limit_status: 503 (vendor behaviour) or 429 (then with a Retry-After header).
        latency_ms: Fixed delay added to every API response.
        latency_jitter_ms: Extra random delay, uniform in [0, jitter].
        fail_rate: Fraction of API requests answered with a 5xx (some as HTML error pages).
        truncate_rate: Fraction answered 200 with a body cut in the middle.
        drop_rate: Fraction whose connection is closed without any response.
        day_granular_to: Stricter window reading: since <= ts < date(to) 00:00:00.
        oversize_pages: Quirk: some /org pages hold 1-5 more records than `limit`.
        empty_final_page: Quirk: an empty XML page is the bare self-closing root element.
    """

    seed: int = 1
    scale: int = 200
    api_key: str = DEFAULT_API_KEY
    history_days: int = 60
    now: datetime | None = None
    rate_limit: int | None = None
    rate_limit_status: int = 503
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    fail_rate: float = 0.0
    truncate_rate: float = 0.0
    drop_rate: float = 0.0
    day_granular_to: bool = False
    oversize_pages: bool = True
    empty_final_page: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError with a one-line message when a field is out of range."""
        if not isinstance(self.scale, int) or self.scale < 1:
            raise ValueError(f"scale must be an integer >= 1 (number of users), got {self.scale!r}")
        if not isinstance(self.history_days, int) or self.history_days < 1:
            raise ValueError(f"history_days must be an integer >= 1, got {self.history_days!r}")
        if not self.api_key or not isinstance(self.api_key, str) or len(self.api_key) > 50:
            raise ValueError("api_key must be a non-empty string of at most 50 characters")
        if self.rate_limit is not None and (not isinstance(self.rate_limit, int) or self.rate_limit < 1):
            raise ValueError(f"rate_limit must be None or an integer >= 1 (requests/min), got {self.rate_limit!r}")
        if self.rate_limit_status not in (503, 429):
            raise ValueError(f"rate_limit_status must be 503 or 429, got {self.rate_limit_status!r}")
        for name in ("fail_rate", "truncate_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be between 0.0 and 1.0, got {value!r}")
        for name in ("latency_ms", "latency_jitter_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")

    def replace(self, **changes) -> "SimConfig":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)


FAULT_FIELDS = (
    "rate_limit", "rate_limit_status", "latency_ms", "latency_jitter_ms", "fail_rate", "truncate_rate",
    "drop_rate", "day_granular_to", "oversize_pages", "empty_final_page",
)
"""Fields `Simulator.set_faults` may change at run time (serving behaviour only, never data)."""
