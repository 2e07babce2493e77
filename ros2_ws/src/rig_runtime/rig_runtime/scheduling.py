"""Keeping a 10 Hz loop on time beside a trainer on the same few cores (Linux).

- `DeadlineClock`: absolute sleeps on CLOCK_MONOTONIC (`clock_nanosleep(TIMER_ABSTIME)` through ctypes, the
  GIL released while asleep), so a late wake-up never shifts the following deadlines.
- `make_realtime`: SCHED_FIFO for the calling thread when the process may (CAP_SYS_NICE / rtprio limit),
  otherwise a one-line reason and the default scheduler.
- `make_background`: nice + SCHED_IDLE (+ CPU affinity) for a learner thread, so it only gets cycles
  the control loop and the sim do not want.

Linux schedules threads, not processes: nice, policy and affinity apply to the calling thread (and to the
threads it starts afterwards).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time

CLOCK_MONOTONIC, TIMER_ABSTIME = 1, 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _libc_sleeper():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.clock_nanosleep
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Timespec), ctypes.POINTER(_Timespec)]
    fn.restype = ctypes.c_int
    return fn


_clock_nanosleep = _libc_sleeper()


def sleep_until(deadline_ns: int) -> None:
    """Sleep until CLOCK_MONOTONIC reads `deadline_ns` (the clock of `time.monotonic_ns`)."""
    if _clock_nanosleep is None:
        delay = deadline_ns - time.monotonic_ns()
        if delay > 0:
            time.sleep(delay / 1e9)
        return
    ts = _Timespec(deadline_ns // 1_000_000_000, deadline_ns % 1_000_000_000)
    while _clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ctypes.byref(ts), None) == 4:  # EINTR: sleep on
        pass


class DeadlineClock:
    """Ticks at `start + k · period` on the monotonic clock. When a tick is missed by more than a whole
    period, the schedule jumps ahead to the next future slot (`skipped` counts them) instead of bursting."""

    def __init__(self, period_s: float, start_ns: int | None = None) -> None:
        self.period_ns = round(period_s * 1e9)
        self.next_ns = (start_ns if start_ns is not None else time.monotonic_ns()) + self.period_ns
        self.skipped = 0

    def wait(self) -> int:
        """Sleep to the next deadline; return it (ns)."""
        now = time.monotonic_ns()
        if now - self.next_ns > self.period_ns:
            missed = (now - self.next_ns) // self.period_ns
            self.skipped += int(missed)
            self.next_ns += missed * self.period_ns
        deadline = self.next_ns
        sleep_until(deadline)
        self.next_ns += self.period_ns
        return deadline


def make_realtime(priority: int) -> str:
    """SCHED_FIFO at `priority` (1-99) for the calling thread; '' on success, else why not (0: skipped)."""
    if priority <= 0:
        return "disabled (priority 0)"
    if not hasattr(os, "sched_setscheduler"):
        return "sched_setscheduler is not available on this OS"
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(min(priority, 99)))
    except (PermissionError, OSError) as err:
        return f"SCHED_FIFO not permitted ({err.strerror or err}); needs CAP_SYS_NICE or an rtprio limit"
    return ""


def make_background(nice: int, idle: bool, cpus: list[int] | None = None) -> list[str]:
    """Lower the calling thread's priority: +`nice`, SCHED_IDLE when `idle`, pinned to `cpus` when given.
    Returns what was applied (for the node's log line); failures are reported in that list too."""
    done = []
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))
            done.append(f"nice {os.getpriority(os.PRIO_PROCESS, 0)}")
        except OSError as err:
            done.append(f"nice failed ({err})")
    if idle and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            done.append("SCHED_IDLE")
        except OSError as err:
            done.append(f"SCHED_IDLE failed ({err})")
    if cpus:
        available = os.sched_getaffinity(0)
        wanted = {c for c in cpus if c in available}
        if wanted:
            os.sched_setaffinity(0, wanted)
            done.append(f"cpus {sorted(wanted)}")
        else:
            done.append(f"cpus {cpus} not available (have {sorted(available)})")
    return done
