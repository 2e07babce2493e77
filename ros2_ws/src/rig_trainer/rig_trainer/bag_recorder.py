"""bag_recorder: record experience topics to a rosbag2 bag (MCAP by default, sqlite3 as an option).

Subscribes raw (CDR bytes, no deserialization) to each topic once it appears in the graph, with the
reliability its publishers offer, and writes with `rig_trainer.bags.BagWriter`: split by size or
duration, chunks flushed every `--flush-period` s. Ctrl-C / SIGTERM close the bag cleanly; after a
SIGKILL any reader keeps every flushed chunk of the unfinished split.

    bag_recorder -o bags/demo1 [--storage sqlite3] [--max-duration 60] [--topics /a /b ...]
    bag_recorder --repair bags/demo1      # after a crash, a power loss or a cut copy

--repair recovers every complete message (of unfinished splits, and of MCAP files cut anywhere: no footer,
a cut chunk or record), writes a valid bag with its metadata.yaml at BAG and moves the original, as it
was, to BAG.orig. A lone cut MCAP file x.mcap is recovered into a new bag x/ beside it.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions

from rig_trainer.bag_repair import repair
from rig_trainer.bags import DEFAULT_TOPICS, BagError, BagWriter


def message_class(msgtype: str) -> type:
    """The rclpy message class of 'pkg/msg/Name'."""
    pkg, _, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


class BagRecorder(Node):
    """Raw subscriptions to `topics` feeding one BagWriter; new topics are picked up every 0.5 s."""

    def __init__(self, writer: BagWriter, topics: list[str]) -> None:
        super().__init__("bag_recorder")
        self.writer = writer
        self.pending = list(dict.fromkeys(topics))
        self.subs: dict[str, object] = {}
        self.create_timer(0.5, self.discover)
        self.create_timer(max(0.05, writer.flush_period), self.writer.flush)
        self.discover()

    def discover(self) -> None:
        types = dict(self.get_topic_names_and_types())
        for topic in list(self.pending):
            if topic not in types:
                continue
            msgtype = types[topic][0]
            try:
                self.writer.add_topic(topic, msgtype)
                cls = message_class(msgtype)
            except (BagError, ImportError, AttributeError, ValueError) as err:
                self.get_logger().error(f"not recording {topic}: {err}")
                self.pending.remove(topic)
                continue
            pubs = self.get_publishers_info_by_topic(topic)
            best_effort = any(p.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT for p in pubs)
            qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.BEST_EFFORT if best_effort
                             else ReliabilityPolicy.RELIABLE)
            self.subs[topic] = self.create_subscription(cls, topic, self._callback(topic), qos, raw=True)
            self.pending.remove(topic)
            self.get_logger().info(f"recording {topic} ({msgtype}, {'best effort' if best_effort else 'reliable'})")

    def _callback(self, topic: str):
        def on_message(data: bytes) -> None:
            self.writer.write(topic, self.get_clock().now().nanoseconds, data)
        return on_message


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="bag_recorder", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("-o", "--output", type=Path, help="bag directory to create (default bags/rig_<time>)")
    parser.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    parser.add_argument("--topics", nargs="+", default=list(DEFAULT_TOPICS), help="topics to record")
    parser.add_argument("--max-size", type=int, default=0, help="split after this many bytes (0: off)")
    parser.add_argument("--max-duration", type=float, default=60.0, help="split after this many seconds (0: off)")
    parser.add_argument("--flush-period", type=float, default=1.0, help="flush chunks at least this often (s)")
    parser.add_argument("--repair", type=Path, metavar="BAG",
                        help="recover a crashed or cut bag (original kept as BAG.orig), then exit")
    return parser.parse_known_args(argv)


def main(argv: list[str] | None = None) -> int:
    args, ros_args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.repair is not None:
        try:
            print(f"bag_recorder: {repair(args.repair)}")
        except (BagError, OSError) as err:
            print(f"bag_recorder: {err}", file=sys.stderr)
            return 1
        return 0
    output = args.output or Path("bags") / f"rig_{__import__('time').strftime('%Y%m%d_%H%M%S')}"
    try:
        writer = BagWriter(output, args.storage, args.max_size, args.max_duration, args.flush_period)
    except BagError as err:
        print(f"bag_recorder: {err}", file=sys.stderr)
        return 1
    # Ctrl-C and SIGTERM only set a flag: a signal never interrupts a write half-way.
    rclpy.init(args=ros_args, signal_handler_options=SignalHandlerOptions.NO)
    stop: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.append(signum))
    node = BagRecorder(writer, args.topics)
    try:
        while not stop:
            rclpy.spin_once(node, timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        writer.close()
        print(f"bag_recorder: wrote {writer.message_count} messages to {output}", flush=True)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
