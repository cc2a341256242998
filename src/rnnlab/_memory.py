"""Peak resident memory of a block of code.

On Linux the kernel keeps the high-water mark of the resident set (``VmHWM`` in
``/proc/self/status``) and resets it when ``5`` is written to ``/proc/self/clear_refs``
(proc(5)), so :class:`PeakMemory` measures the true peak of the block, not of the whole
process lifetime as ``getrusage(RUSAGE_SELF).ru_maxrss`` does. Elsewhere it samples the
resident set with psutil every 5 ms in a thread (a lower bound on the peak).
"""

import re
import threading
from pathlib import Path

import psutil

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _high_water_mb() -> float | None:
    try:
        match = re.search(r"VmHWM:\s+(\d+)\s+kB", _STATUS.read_text())
    except OSError:
        return None
    return int(match.group(1)) / 1024 if match else None


def _reset_high_water() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _high_water_mb() is not None


class PeakMemory:
    """Context manager: ``start_mb`` (resident set on entry) and ``peak_mb`` (peak
    resident set inside the block, MiB); ``increase_mb`` = ``peak_mb - start_mb``.

    Example:
        >>> with PeakMemory() as memory:
        ...     train()
        >>> memory.peak_mb
    """

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.start_mb = float("nan")
        self.peak_mb = float("nan")
        self.method = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def increase_mb(self) -> float:
        return self.peak_mb - self.start_mb

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, _rss_mb())

    def __enter__(self) -> "PeakMemory":
        self.start_mb = _rss_mb()
        self.peak_mb = self.start_mb
        if _reset_high_water():
            self.method = "VmHWM"
        else:
            self.method = "sampled"
            self._stop.clear()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        high = _high_water_mb() if self.method == "VmHWM" else None
        self.peak_mb = max(self.peak_mb, _rss_mb(), high or 0.0)
