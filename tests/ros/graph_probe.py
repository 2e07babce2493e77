"""A test-side rclpy node: subscribe, record messages with arrival times, wait for conditions."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data

from rig_runtime.node_runner import spin_in_background


class Probe:
    """Owns its own rclpy context so each test starts clean."""

    def __init__(self, domain_id: int) -> None:
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = Node("test_probe", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.received: dict[str, list[tuple[float, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._thread = spin_in_background(self.executor, self.context)

    def listen(self, topic: str, msg_type: type, qos: QoSProfile | int | None = None, sensor: bool = False) -> None:
        """Record every message on `topic` as (monotonic arrival time, message)."""
        profile = qos_profile_sensor_data if sensor else (qos if qos is not None else 10)

        def callback(msg: Any) -> None:
            with self._lock:
                self.received[topic].append((time.monotonic(), msg))

        self.node.create_subscription(msg_type, topic, callback, profile)

    def messages(self, topic: str) -> list[Any]:
        with self._lock:
            return [m for _, m in self.received[topic]]

    def timed(self, topic: str) -> list[tuple[float, Any]]:
        with self._lock:
            return list(self.received[topic])

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}; heard {self.heard()}")

    def heard(self) -> str:
        """What arrived on each listened topic: the count, and for text topics (String) the last message."""
        with self._lock:
            parts = []
            for topic, timed in self.received.items():
                last = getattr(timed[-1][1], "data", None) if timed else None
                parts.append(f"{topic}: {len(timed)}" + (f" (last: {last[:300]})" if isinstance(last, str) else ""))
        return "; ".join(parts) or "nothing"

    def wait_count(self, topic: str, n: int, timeout: float) -> list[Any]:
        self.wait_for(lambda: len(self.received[topic]) >= n, timeout, f"{n} messages on {topic}")
        return self.messages(topic)

    def close(self) -> None:
        self.executor.remove_node(self.node)
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self._thread.join(timeout=2)
