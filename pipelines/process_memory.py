"""Process-wide memory settings of a sync, applied once at process start.

Pages are parsed in fetch threads and freed in the main thread: glibc's per-thread arenas and pyarrow's
mimalloc keep such frees resident. Two arenas and the system allocator take 4-10% off the peak RSS.
"""
from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # glibc's mallopt() parameter number (<malloc.h>)
MALLOC_ARENAS = 2  # low lock contention on the 2-core target, without an arena per fetch thread
_tuned = False


def tune_process_memory() -> None:
    """Caps glibc's malloc arenas and gives pyarrow the system allocator, unless the user set
    ``MALLOC_ARENA_MAX`` / ``ARROW_DEFAULT_MEMORY_POOL``."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    if sys.platform.startswith("linux") and "MALLOC_ARENA_MAX" not in os.environ:
        try:
            ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
        except (OSError, AttributeError):  # not glibc (e.g. musl): keep its defaults
            log.debug("mallopt unavailable; malloc arenas left alone")
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        import pyarrow as pa  # noqa: PLC0415 - a heavy import the CLI's --help does not need

        pa.set_memory_pool(pa.system_memory_pool())
