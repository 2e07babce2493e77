"""Progress of a run made of phases (exploration, VAE pre-training, practice, evaluation), each counted in its
own unit with its own measured rate; the ETA adds up every phase's remaining work over its rate.

A tqdm bar on a terminal, a log line every `log_every_s` otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from tqdm import tqdm


@dataclass
class Phase:
    """One kind of work: `total` units (e.g. env steps), `done` of them so far, the time spent in it."""

    name: str
    unit: str  # "env steps", "VAE batches", "eval episodes"
    total: int
    done: int = 0  # may start above 0 on resume
    estimate_from: str | None = None  # until this phase is measured: its rate is that phase's rate ...
    estimate_factor: float = 1.0  # ... times this (e.g. 1 / episode length for episodes from env steps)
    active_s: float = 0.0  # time this phase was the innermost active one, in this process
    measured: int = 0  # units done in this process, over `active_s`

    @property
    def remaining(self) -> int:
        return max(self.total - self.done, 0)

    def rate(self) -> float | None:
        """Units per second measured so far, or None before anything was measured (never zero)."""
        return self.measured / self.active_s if self.measured > 0 and self.active_s > 0 else None


def format_duration(seconds: float) -> str:
    """`42 s`, `3m05s`, `1h02m`."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def format_rate(rate: float) -> str:
    return f"{rate:.0f}" if rate >= 100 else f"{rate:.1f}" if rate >= 1 else f"{rate:.2g}"


class Progress:
    """Phases of a run: `start(name)` moves on to the next one, `with phase(name)` runs one inside the current
    (an evaluation during practice; its time does not count against practice), `advance(n)` counts work."""

    def __init__(self, phases: list[Phase], desc: str = "rig", enabled: bool = True, log_every_s: float = 15.0,
                 clock: Callable[[], float] = time.monotonic, stream: TextIO | None = None) -> None:
        self.phases = {p.name: p for p in phases}
        self.desc, self.enabled, self.log_every_s, self.status = desc, enabled, log_every_s, ""
        self._clock, self._stream = clock, stream if stream is not None else sys.stderr
        self._tty = enabled and self._stream.isatty()
        self._stack: list[Phase] = []
        self._since = self._last_log = clock()
        self.draw_every_s = 0.2  # terminal redraws at most this often
        self._bar: tqdm | None = None  # on a terminal, from the first phase on

    # ---- driving it --------------------------------------------------------------------------
    def start(self, name: str, status: str = "") -> None:
        """Make `name` the current top-level phase (the previous one, if any, is over)."""
        self._switch([self.phases[name]], status)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Run phase `name` inside the current one; the outer phase resumes afterwards."""
        outer, status = list(self._stack), self.status
        self._switch([*outer, self.phases[name]], status)
        try:
            yield
        finally:
            self._switch(outer, status)

    def advance(self, n: int = 1, status: str | None = None) -> None:
        """`n` more units of the current phase done; a line when the phase completes or one is due."""
        self._accrue()
        if status is not None:
            self.status = status
        if not self._stack:
            return
        current = self._stack[-1]
        was_open = current.remaining > 0
        current.done += n
        current.measured += n
        if not self.enabled:
            return
        if was_open and current.remaining == 0:
            rate = current.rate()
            speed = f" ({format_rate(rate)} {current.unit}/s)" if rate is not None else ""
            self._write(f"[rig] {current.name} done: {current.measured} {current.unit} in "
                        f"{format_duration(current.active_s)}{speed}")
        now = self._clock()
        if self._bar is not None:
            if now - self._last_log >= self.draw_every_s:
                self._draw()
        elif now - self._last_log >= self.log_every_s:
            self._last_log = now
            self._write(f"[rig] {self.summary()}")

    def note(self, message: str) -> None:
        """A line that stays, e.g. an evaluation result."""
        if self.enabled:
            self._write(f"[rig] {message}")

    def close(self) -> None:
        self._accrue()
        self._stack = []
        if self._bar is not None:
            self._bar.close()

    # ---- arithmetic --------------------------------------------------------------------------
    def rate(self, phase: Phase) -> float | None:
        """The phase's measured rate, else one estimated from its `estimate_from` phase, else None."""
        own = phase.rate()
        if own is not None or phase.estimate_from is None:
            return own
        source = self.phases[phase.estimate_from].rate()
        return source * phase.estimate_factor if source is not None and phase.estimate_factor > 0 else None

    def eta(self) -> tuple[float, list[str]]:
        """Seconds of work left in the phases with a rate, and the names of those with work left but no rate."""
        self._accrue()
        seconds, unknown = 0.0, []
        for phase in self.phases.values():
            if phase.remaining == 0:
                continue
            rate = self.rate(phase)
            if rate is None:
                unknown.append(phase.name)
            else:
                seconds += phase.remaining / rate
        return seconds, unknown

    def summary(self, with_phase: bool = True) -> str:
        """E.g. `practice 120/500 env steps, 14.2 env steps/s, ETA 41 s  eval ee_distance=0.081`."""
        parts = []
        if self._stack:
            current = self._stack[-1]
            if with_phase:
                parts.append(f"{current.name} {current.done}/{current.total} {current.unit}")
            rate = current.rate()
            parts.append(f"{format_rate(rate)} {current.unit}/s" if rate is not None else f"measuring {current.unit}/s")
        seconds, unknown = self.eta()
        if not unknown:
            parts.append(f"ETA {format_duration(seconds)}")
        elif seconds > 0:
            parts.append(f"ETA at least {format_duration(seconds)} ({', '.join(unknown)} not measured yet)")
        else:
            parts.append(f"ETA not known yet ({', '.join(unknown)} not measured yet)")
        text = ", ".join(parts)
        return f"{text}  {self.status}" if self.status else text

    def plan(self) -> str:
        """The phases ahead, e.g. `exploration 500 env steps -> VAE pre-training 1000 VAE batches -> ...`."""
        return " -> ".join(f"{p.name} {p.remaining} {p.unit}" for p in self.phases.values() if p.remaining)

    # ---- internals ---------------------------------------------------------------------------
    def _accrue(self) -> None:
        """Charge the time since the last call to the innermost active phase."""
        now = self._clock()
        if self._stack:
            self._stack[-1].active_s += now - self._since
        self._since = now

    def _switch(self, stack: list[Phase], status: str) -> None:
        self._accrue()
        self._stack, self.status = stack, status
        if not (self._tty and stack):
            return
        desc, total = f"{self.desc}: {stack[-1].name}", max(stack[-1].total, 1)
        if self._bar is None:
            self._bar = tqdm(total=total, desc=desc, file=self._stream, dynamic_ncols=True,
                             bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}")
        self._bar.set_description_str(desc, refresh=False)
        self._bar.total = total
        self._draw()

    def _draw(self) -> None:
        assert self._bar is not None
        self._last_log = self._clock()
        self._bar.n = self._stack[-1].done if self._stack else 0
        self._bar.set_postfix_str(self.summary(with_phase=False), refresh=False)
        self._bar.refresh()

    def _write(self, line: str) -> None:
        if self._bar is not None:
            tqdm.write(line, file=self._stream)
        else:
            print(line, file=self._stream, flush=True)
