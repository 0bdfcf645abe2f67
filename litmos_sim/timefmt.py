"""Time conversions: stored UTC epoch milliseconds <-> datetimes and the wire formats."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS_PER_DAY = 86_400_000
# WCF writes the server's local offset after the instant; the instant itself is always UTC ms.
_WCF_OFFSETS = ("-0700", "+0000", "-0500", "+0530", "+1000", "-0800")


def to_ms(dt: datetime) -> int:
    """UTC epoch milliseconds of `dt` (naive datetimes are taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    """Tz-aware UTC datetime of epoch milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)


def day_start_ms(ms: int) -> int:
    """Epoch ms of 00:00:00 UTC of the day containing `ms`."""
    return ms - ms % MS_PER_DAY


_DAY_TEXT: dict[int, str] = {}


def xml_date(ms: int, z: bool = False) -> str:
    """ISO 8601 UTC as the API writes it: fraction only when not .000, optional trailing Z."""
    days, rest = divmod(ms, MS_PER_DAY)
    day = _DAY_TEXT.get(days)
    if day is None:  # the date part is cached per day: rendering dates is on the hot path
        t = time.gmtime(days * 86_400)
        day = _DAY_TEXT[days] = "%04d-%02d-%02dT" % (t.tm_year, t.tm_mon, t.tm_mday)
    secs, frac = divmod(rest, 1000)
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    if frac:
        text = "%s%02d:%02d:%02d.%03d" % (day, hours, minutes, secs, frac)
    else:
        text = "%s%02d:%02d:%02d" % (day, hours, minutes, secs)
    return text + "Z" if z else text


def wcf_date(ms: int) -> str:
    """WCF JSON date `/Date(ms+zzzz)/`; the offset varies per value and never changes the instant."""
    return "/Date(%d%s)/" % (ms, _WCF_OFFSETS[(ms // 1000) % len(_WCF_OFFSETS)])


def timespan(seconds: int) -> str:
    """.NET TimeSpan text: HH:mm:ss, or d.HH:mm:ss from 24 hours on."""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    core = "%02d:%02d:%02d" % (hours, minutes, secs)
    return f"{days}.{core}" if days else core


def http_date(ms: int) -> str:
    """RFC 7231 IMF-fixdate (HTTP Date header) of epoch ms."""
    t = time.gmtime(ms // 1000)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        days[t.tm_wday], t.tm_mday, months[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min, t.tm_sec)


def parse_window_datetime(text: str) -> int | None:
    """Parse a since/to value: `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS` (optional Z); None if bad."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1]
    if len(value) != 19 or value[10] not in " T":
        return None
    try:
        dt = datetime.strptime(value[:10] + " " + value[11:], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return to_ms(dt)


def parse_date_or_datetime(text: str) -> int | None:
    """Parse `YYYY-MM-DD` or a window datetime; None if bad (used by /achievements?since=)."""
    value = text.strip()
    if len(value) == 10:
        try:
            return to_ms(datetime.strptime(value, "%Y-%m-%d"))
        except ValueError:
            return None
    return parse_window_datetime(value)
