"""Arm driver benchmarks (issue 9):

1. one controller step (FK + Jacobian + damped least squares + every limit) and the kinematics alone, in
   process (no ROS), µs per call;
2. the driver's 100 Hz loop on a real ROS 1 master against the MuJoCo twin (separate processes): period
   error p50/p99/max from the stamps of the joint commands it sends, with and without SCHED_FIFO;
3. the machine's floor, side by side: a bare 100 Hz loop (no ROS, no work, the driver's own sleep and deadline
   step) under SCHED_FIFO in a process of its own, run just before each driver loop, its period error the same way.

    .venv/bin/python benchmarks/bench_arm_driver.py [--seconds 20] [--out benchmarks/results/arm_driver.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "arm"))

from sawyer_driver import START_JOINTS, ArmController, Kinematics  # noqa: E402
from sawyer_twin.model import TIP_LINK, build_model, sawyer_urdf  # noqa: E402


def bench_step(n: int = 5000) -> dict:
    kin = Kinematics(sawyer_urdf(build_model()), tip_link=TIP_LINK)
    ctl = ArmController(kin)
    q = np.array(START_JOINTS)
    ctl.reset(q)
    rng = np.random.default_rng(0)
    twists = rng.normal(0, 0.1, (n, 6))
    out = {}
    calls = {"fk_jacobian": lambda i: kin.fk_jacobian(q), "controller_step": lambda i: ctl.step(q, q * 0, twists[i], 0.01)}
    for name, fn in calls.items():
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            fn(i)
            times.append(time.perf_counter() - t0)
        us = np.array(times[200:]) * 1e6
        out[name] = {"p50_us": float(np.percentile(us, 50)), "p99_us": float(np.percentile(us, 99))}
    return out


def bench_loop(seconds: float, realtime: bool, extra: tuple[str, ...] = ()) -> dict:
    import tempfile

    from arm_graph import Ros1Graph

    with tempfile.TemporaryDirectory() as tmp:
        g = Ros1Graph(Path(tmp))
        try:
            g.node("sawyer_twin", "sawyer_driver.ros1.twin_node", "_enabled:=true")
            g.node("sawyer_driver", "sawyer_driver.ros1.driver_node", "_tip_link:=right_gripper_tip",
                   f"_realtime:={str(realtime).lower()}", *extra)
            g.probe("status", prefix="idle", timeout=30.0)
            g.probe("record")
            g.probe("twists", segments=[[seconds / 2, [0.02, 0, 0, 0, 0, 0]], [seconds / 2, [-0.02, 0, 0, 0, 0, 0]]])
            rec = g.probe("collect")
        finally:
            g.close()
    return period_error(np.array(sorted(r[0] for r in rec["cmd"] if r[1] == 2)))


def period_error(stamps: np.ndarray, period: float = 0.01) -> dict:
    err_ms = np.abs(np.diff(stamps) - period) * 1e3
    return {"ticks": len(stamps), "p50_ms": float(np.percentile(err_ms, 50)), "p99_ms": float(np.percentile(err_ms, 99)),
            "max_ms": float(err_ms.max())}


def bare_loop_child(seconds: float, period: float = 0.01) -> None:
    """The floor: wake on the driver's deadlines (sleep_until, advance_deadline) under SCHED_FIFO and do nothing."""
    from sawyer_driver.ros1.common import advance_deadline, sleep_until

    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))
    except OSError as err:
        sys.exit(f"bare loop: no SCHED_FIFO ({err})")
    stamps, deadline = [], time.monotonic()
    end = deadline + seconds
    while deadline < end:
        sleep_until(deadline)
        stamps.append(time.monotonic())
        deadline = advance_deadline(deadline, period)
    print(json.dumps(period_error(np.array(stamps), period)))


def bench_bare_loop(seconds: float) -> dict:
    out = subprocess.run([sys.executable, __file__, "--bare-loop-child", str(seconds)], capture_output=True, text=True,
                         check=True, timeout=seconds + 30)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--driver-args", nargs="*", default=[], help="extra driver params, e.g. _compute_lead:=0")
    ap.add_argument("--fifo-only", action="store_true", help="skip the loop without SCHED_FIFO")
    ap.add_argument("--rounds", type=int, default=1, help="alternate floor and driver loop this many times")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "arm_driver.json")
    ap.add_argument("--bare-loop-child", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare_loop_child is not None:
        return bare_loop_child(args.bare_loop_child)
    result = {"load_before": os.getloadavg(), "step": bench_step()}
    print(json.dumps(result["step"], indent=1))
    result["driver_args"] = args.driver_args
    for k in range(args.rounds):
        suffix = f"_{k + 1}" if args.rounds > 1 else ""
        result["floor" + suffix] = bench_bare_loop(args.seconds)
        print("floor" + suffix, json.dumps(result["floor" + suffix]), flush=True)
        for realtime in (True,) if args.fifo_only else (True, False):
            key = ("loop_fifo" if realtime else "loop_normal") + suffix
            result[key] = bench_loop(args.seconds, realtime, tuple(args.driver_args))
            print(key, json.dumps(result[key]), flush=True)
    result["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
