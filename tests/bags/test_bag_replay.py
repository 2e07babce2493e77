"""bag_replay republishes a bag onto live topics; a second recorder captures the same messages."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bag_publisher import make
from nodeproc import NodeProcess
from rclpy.serialization import serialize_message
from test_bag_recorder import TOPICS, _assert_prefix_equal, _read, _wait_for

from rig_trainer.bags import BagWriter


def test_replay_faster_than_recorded(ros_env: dict, tmp_path: Path) -> None:
    src = tmp_path / "src"
    writer = BagWriter(src)
    n = 20
    for topic, msg in make(0, 8).items():
        writer.add_topic(topic, type(msg).__module__.split(".")[0] + "/msg/" + type(msg).__name__)
    for i in range(n):
        for topic, msg in make(i, 8).items():
            writer.write(topic, 10**9 * (100 + i) // 10, serialize_message(msg))  # 10 Hz: 1.9 s of data
    writer.close()
    out = tmp_path / "out"
    rec = NodeProcess([sys.executable, "-m", "rig_trainer.bag_recorder", "-o", str(out), "--topics", *TOPICS],
                      ros_env, tmp_path / "rec.log")
    try:
        time.sleep(1.0)
        t0 = time.monotonic()
        play = NodeProcess([sys.executable, "-m", "rig_trainer.bag_replay", str(src), "--rate", "4", "--wait", "10"],
                           ros_env, tmp_path / "play.log")
        _wait_for(rec, "recording /policy/experience", 30)
        assert play.proc.wait(60) == 0, play.output()
        elapsed = time.monotonic() - t0
        time.sleep(1.0)
        assert rec.stop() == 0, rec.log_path.read_text()
    finally:
        rec.stop()
    assert f"published {4 * n} messages" in play.log_path.read_text()
    _assert_prefix_equal(_read(out), 8, n)
    assert elapsed < 15
