"""rig_runtime.scheduling: absolute-deadline ticks and the scheduler helpers (Linux)."""

from __future__ import annotations

import os
import threading
import time

import numpy as np

from rig_runtime.scheduling import DeadlineClock, make_background, make_realtime, sleep_until


def test_deadline_clock_keeps_an_absolute_schedule():
    clock = DeadlineClock(0.01)
    start = clock.next_ns - clock.period_ns
    deadlines, late = [], []
    for k in range(20):
        deadline = clock.wait()
        late.append((time.monotonic_ns() - deadline) / 1e6)
        deadlines.append(deadline)
        if k == 5:
            time.sleep(0.035)  # overrun three periods: the schedule skips ahead instead of bursting
    offsets = np.array(deadlines) - start
    assert np.all(offsets % clock.period_ns == 0), "deadlines left the start + k·period grid (drift)"
    assert np.all(np.diff(offsets) > 0) and np.diff(offsets).max() >= 3 * clock.period_ns
    assert clock.skipped >= 2
    assert np.median(late) < 2.0, late

def test_sleep_until_the_past_returns_at_once():
    t0 = time.monotonic_ns()
    sleep_until(t0 - 10**9)
    assert time.monotonic_ns() - t0 < 5_000_000


def test_scheduler_helpers_apply_to_the_calling_thread_only():
    out: dict[str, object] = {}

    def worker() -> None:
        out["applied"] = make_background(5, idle=True, cpus=[0])
        out["policy"] = os.sched_getscheduler(0)
        out["why_not"] = make_realtime(0)

    before = os.sched_getscheduler(0)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert os.sched_getscheduler(0) == before  # this thread is untouched
    assert out["policy"] == os.SCHED_IDLE and "SCHED_IDLE" in out["applied"]
    assert out["why_not"] == "disabled (priority 0)"
