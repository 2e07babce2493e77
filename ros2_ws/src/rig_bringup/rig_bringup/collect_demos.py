"""collect_demos: bring up a demo-collection graph and record it to a bag until enough demos succeeded.

    collect_demos --out bags/sim_demos --demos 20                        # sim, scripted teleop
    collect_demos --graph launch/collect_demos_real.yaml --out bags/real --demos 20   # Sawyer + SpaceMouse
    [--set node.param=value ...] [--storage sqlite3] [--timeout 600]

Every node runs in its own process (rig_bringup.bringup) and bag_recorder records the experience topics
plus /demo/goal (each demo's goal: its final frame) and /demo/state. Demos are steps with is_demo on
/policy/experience; offline_train reads the bag as it is. Stops (Ctrl-C-clean) when demo_node reports
`--demos` successes, or on Ctrl-C / timeout (the bag is closed cleanly either way).

The recorder subscribes to a topic once it sees its publisher, so the node that starts the demos (the trainer,
whose first weights the graph waits for) is held back until the recorder has subscribed to the experience and
demo topics: no step of the first demo goes out before the bag listens.
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
from rig_trainer.bags import DEFAULT_TOPICS, EXPERIENCE_TOPIC

DEMO_TOPICS = ("/demo/goal", "/demo/state")
GRAPH_FILE = "collect_demos_sim.yaml"
HELD_BACK = "trainer_node"  # its first weights start the demos
RECORDER = "bag_recorder"


def default_graph() -> Path:
    return graph_file(GRAPH_FILE)


class DemoWatch:
    """An rclpy node that watches the recorder's subscriptions and /demo/state."""

    def __init__(self) -> None:
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = Node("collect_demos", context=self.context)
        self.state: dict = {}
        self.node.create_subscription(String, "/demo/state", lambda m: self.state.update(json.loads(m.data)),
                                      LATCHED_QOS)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def recorder_missing(self, topics: tuple[str, ...]) -> list[str]:
        """The `topics` the recorder has not subscribed to yet."""
        return [t for t in topics if not any(info.node_name == RECORDER
                                             for info in self.node.get_subscriptions_info_by_topic(t))]

    def wait_for_recorder(self, topics: tuple[str, ...], timeout: float, stop: list[int]) -> list[str]:
        """Spin until the recorder has subscribed to every one of `topics`; those still missing."""
        deadline = time.monotonic() + timeout
        while not stop and time.monotonic() < deadline and self.recorder_missing(topics):
            self.executor.spin_once(timeout_sec=0.1)
        return self.recorder_missing(topics)

    def demos(self, demos: int, timeout: float, stop: list[int]) -> dict:
        """Spin until /demo/state reports `demos` successes (or finished / timeout / a signal); the last state."""
        deadline, last = time.monotonic() + timeout, -1
        while not stop and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.1)
            if self.state.get("successes", 0) != last:
                last = self.state.get("successes", 0)
                print(f"[collect_demos] {last}/{demos} demos", flush=True)
            if last >= demos or self.state.get("state") == "finished":
                break
        return self.state

    def close(self) -> None:
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


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
    parser.add_argument("--recorder-timeout", type=float, default=60.0,
                        help="seconds the recorder gets to subscribe before the demos start")
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
    watch, state = DemoWatch(), {}
    recorder = subprocess.Popen([sys.executable, "-m", "rig_trainer.bag_recorder", "-o", str(args.out), "--storage",
                                 args.storage, "--max-duration", "0", "--flush-period", "0.5",
                                 "--topics", *DEFAULT_TOPICS, *DEMO_TOPICS])
    with tempfile.TemporaryDirectory(prefix="rig-collect-") as scratch:
        bringup = Bringup(graph, Path(scratch))
        try:
            held = [spec for spec in graph.nodes if spec.name == HELD_BACK]
            for spec in graph.nodes:
                if spec not in held:
                    bringup.start(spec)
            required = (EXPERIENCE_TOPIC, *DEMO_TOPICS)
            missing = watch.wait_for_recorder(required, args.recorder_timeout, stop)
            if missing and not stop:
                print(f"collect_demos: the recorder did not subscribe to {', '.join(missing)} within "
                      f"{args.recorder_timeout:.0f} s; no demo was started", file=sys.stderr)
            elif not stop:
                for spec in held:
                    bringup.start(spec)
                state = watch.demos(args.demos, args.timeout, stop)
                time.sleep(1.0)  # the last demo's goal and final step reach the recorder
        finally:
            watch.close()
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
