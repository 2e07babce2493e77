"""collect_demos: bring up a demo-collection graph and record it to a bag until enough demos succeeded.

    collect_demos --out bags/sim_demos --demos 20                        # sim, scripted teleop
    collect_demos --graph launch/collect_demos_real.yaml --out bags/real --demos 20   # Sawyer + SpaceMouse
    [--set node.param=value ...] [--storage sqlite3] [--timeout 600]

Every node runs in its own process (rig_bringup.bringup) and bag_recorder records the experience topics
plus /demo/goal (each demo's goal: its final frame) and /demo/state. Demos are steps with is_demo on
/policy/experience; offline_train reads the bag as it is. Stops (Ctrl-C-clean) when demo_node reports
`--demos` successes, or on Ctrl-C / timeout (the bag is closed cleanly either way).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import String

from rig_bringup.bringup import Bringup
from rig_runtime.graph import graph_file, load_graph, parse_overrides
from rig_runtime.qos import LATCHED_QOS
from rig_trainer.bags import DEFAULT_TOPICS

DEMO_TOPICS = ("/demo/goal", "/demo/state")
GRAPH_FILE = "collect_demos_sim.yaml"


def default_graph() -> Path:
    return graph_file(GRAPH_FILE)


def watch_demos(demos: int, timeout: float, stop: list[int]) -> dict:
    """Spin until /demo/state reports `demos` successes (or finished / timeout / a signal); the last state."""
    context = Context()
    rclpy.init(context=context)
    node = Node("collect_demos", context=context)
    state: dict = {}
    node.create_subscription(String, "/demo/state", lambda m: state.update(json.loads(m.data)), LATCHED_QOS)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    deadline, last = time.monotonic() + timeout, -1
    try:
        while not stop and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
            if state.get("successes", 0) != last:
                last = state.get("successes", 0)
                print(f"[collect_demos] {last}/{demos} demos", flush=True)
            if last >= demos or state.get("state") == "finished":
                break
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collect_demos", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="bag directory to create")
    parser.add_argument("--demos", type=int, default=20, help="successful demos to collect")
    parser.add_argument("--graph", type=Path, default=None, help=f"graph file (default: {GRAPH_FILE})")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE", help="parameter override")
    parser.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    parser.add_argument("--grace", type=float, default=15.0, help="seconds nodes get to stop")
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"collect_demos: {args.out} exists; choose a new --out", file=sys.stderr)
        return 2
    overrides = parse_overrides(args.set)
    overrides.setdefault("demo_node", {})["num_demos"] = args.demos
    graph = load_graph(args.graph or default_graph(), overrides)
    stop: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.append(signum))
    recorder = subprocess.Popen([sys.executable, "-m", "rig_trainer.bag_recorder", "-o", str(args.out), "--storage",
                                 args.storage, "--max-duration", "0", "--flush-period", "0.5",
                                 "--topics", *DEFAULT_TOPICS, *DEMO_TOPICS])
    with tempfile.TemporaryDirectory(prefix="rig-collect-") as scratch:
        bringup = Bringup(graph, Path(scratch))
        try:
            for spec in graph.nodes:
                bringup.start(spec)
            state = watch_demos(args.demos, args.timeout, stop)
            time.sleep(1.0)  # the last demo's goal and final step reach the recorder
        finally:
            code = bringup.shutdown(args.grace)
            recorder.send_signal(signal.SIGINT)
            try:
                recorder.wait(args.grace)
            except subprocess.TimeoutExpired:
                recorder.kill()
    successes = int(state.get("successes", 0))
    print(f"[collect_demos] {successes} demos ({state.get('failures', 0)} failed) in {args.out}", flush=True)
    return 0 if successes >= args.demos and code == 0 and recorder.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
