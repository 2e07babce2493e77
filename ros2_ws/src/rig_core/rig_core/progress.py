"""Progress reporting: a tqdm bar on a terminal, a periodic log line with rate and ETA otherwise."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm


class Progress:
    """Counts env steps; shows rate, ETA and a short status (phase, last evaluation)."""

    def __init__(self, total: int, initial: int = 0, desc: str = "rig", enabled: bool = True,
                 log_every_s: float = 15.0) -> None:
        self.total, self.count, self.status = total, initial, ""
        self.enabled, self.log_every_s = enabled, log_every_s
        self._tty = sys.stderr.isatty()
        self._bar = tqdm(total=total, initial=initial, desc=desc, unit="step", dynamic_ncols=True,
                         disable=not (enabled and self._tty))
        self._start, self._start_count, self._last_log = time.monotonic(), initial, 0.0

    def update(self, n: int = 1, status: str | None = None) -> None:
        self.count += n
        if status is not None:
            self.status = status
        if self._tty:
            self._bar.update(n)
            if status is not None:
                self._bar.set_postfix_str(status, refresh=False)
            return
        now = time.monotonic()
        if self.enabled and (now - self._last_log >= self.log_every_s or self.count >= self.total):
            self._last_log = now
            rate = (self.count - self._start_count) / max(now - self._start, 1e-9)
            eta = (self.total - self.count) / rate if rate > 0 else float("inf")
            print(f"[rig] {self.count}/{self.total} steps  {rate:.1f} steps/s  ETA {eta:.0f}s  {self.status}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        self._bar.close()
