"""bag_replay: republish a bag onto the live topics, at recorded speed or `--rate` times faster.

Messages go out as the CDR bytes stored in the bag (no deserialization), spaced by their recorded
receive times divided by `--rate`; `--rate 0` publishes as fast as possible.

    bag_replay bags/demo1 [--rate 4] [--topics /policy/experience] [--loop]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from rig_trainer.bag_recorder import message_class
from rig_trainer.bags import BagError, iter_raw, open_bag


class BagReplay(Node):
    """One publisher per topic of the bag; `play()` publishes the bag once."""

    def __init__(self, bag: Path, rate: float, topics: list[str] | None, wait: float) -> None:
        super().__init__("bag_replay")
        self.bag, self.rate, self.topics = bag, rate, topics
        qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        with open_bag(bag) as reader:
            conns = {c.topic: c.msgtype for c in reader.connections if topics is None or c.topic in topics}
        if not conns:
            raise BagError(f"{bag}: none of the topics {topics} are in the bag")
        self.pubs = {topic: self.create_publisher(message_class(t), topic, qos) for topic, t in conns.items()}
        deadline = time.monotonic() + wait  # give subscribers a moment to discover us
        while time.monotonic() < deadline and not all(p.get_subscription_count() for p in self.pubs.values()):
            time.sleep(0.05)

    def play(self) -> int:
        count, start_wall, first = 0, time.monotonic(), None
        with open_bag(self.bag) as reader:
            for topic, _, stamp, data in iter_raw(reader, self.bag, list(self.pubs)):
                first = stamp if first is None else first
                if self.rate > 0:
                    delay = start_wall + (stamp - first) / 1e9 / self.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                self.pubs[topic].publish(bytes(data))
                count += 1
        return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bag_replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("bag", type=Path)
    parser.add_argument("--rate", type=float, default=1.0, help="speed-up factor (0: as fast as possible)")
    parser.add_argument("--topics", nargs="+", help="only these topics")
    parser.add_argument("--loop", action="store_true", help="play again and again until Ctrl-C")
    parser.add_argument("--wait", type=float, default=2.0, help="wait up to this long (s) for subscribers")
    args, ros_args = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    rclpy.init(args=ros_args)
    try:
        node = BagReplay(args.bag, args.rate, args.topics, args.wait)
        while True:
            n = node.play()
            node.get_logger().info(f"published {n} messages from {args.bag}")
            if not args.loop:
                break
        time.sleep(0.5)  # let reliable publishers deliver the tail
    except BagError as err:
        print(f"bag_replay: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
