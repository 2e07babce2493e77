"""Recording the live graph: rclpy publishers in another process → bag_recorder process → bag, read back
message-for-message equal with rclpy's own deserialize_message; sqlite3, splits, SIGINT/SIGTERM, SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from bag_publisher import make
from nodeproc import NodeProcess
from rclpy.serialization import deserialize_message
from ruamel.yaml import YAML

from rig_trainer.bags import iter_raw, open_bag

HERE = Path(__file__).parent
TOPICS = ["/camera/image_raw", "/robot/ee_velocity_cmd", "/robot/ee_pose", "/policy/experience"]


def _record(ros_env: dict, tmp_path: Path, bag: Path, n: int, size: int, period: float, extra: list[str]):
    rec = NodeProcess([sys.executable, "-m", "rig_trainer.bag_recorder", "-o", str(bag), "--topics", *TOPICS,
                       "--flush-period", "0.2", *extra], ros_env, tmp_path / "recorder.log")
    pub = NodeProcess.python(HERE / "bag_publisher.py", [str(n), str(size), str(period)], ros_env, tmp_path / "pub.log")
    return rec, pub


def _wait_for(proc: NodeProcess, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in proc.output():
        assert proc.alive(), proc.output()
        assert time.monotonic() < deadline, f"timed out waiting for {text!r}:\n{proc.output()}"
        time.sleep(0.1)


def _read(bag: Path) -> dict[str, list]:
    types = {t: type(m) for t, m in make(0, 2).items()}
    out: dict[str, list] = {t: [] for t in TOPICS}
    with open_bag(bag) as reader:
        for topic, _, _, data in iter_raw(reader, bag):
            out[topic].append(deserialize_message(bytes(data), types[topic]))
    return out


def _assert_prefix_equal(got: dict[str, list], size: int, n: int | None) -> None:
    for topic, msgs in got.items():
        if n is not None:
            assert len(msgs) == n, f"{topic}: {len(msgs)} of {n}"
        for i, msg in enumerate(msgs):
            assert msg == make(i, size)[topic], f"{topic} message {i} differs"


def test_round_trip_mcap_sigint(ros_env: dict, tmp_path: Path) -> None:
    bag = tmp_path / "rt"
    rec, pub = _record(ros_env, tmp_path, bag, 30, 8, 0.02, [])
    try:
        _wait_for(pub, "published")
        time.sleep(1.0)
        assert rec.stop() == 0, rec.log_path.read_text()  # SIGINT
    finally:
        pub.stop()
    assert "wrote 120 messages" in rec.log_path.read_text()
    assert not list(bag.glob("_partial_*"))
    _assert_prefix_equal(_read(bag), 8, 30)
    meta = YAML(typ="safe").load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert meta["storage_identifier"] == "mcap" and meta["message_count"] == 120 and meta["version"] == 9
    topics = {t["topic_metadata"]["name"]: t for t in meta["topics_with_message_count"]}
    assert topics["/policy/experience"]["topic_metadata"]["type"] == "rig_interfaces/msg/ExperienceStep"
    assert all(t["message_count"] == 30 and t["topic_metadata"]["type_description_hash"].startswith("RIHS01_")
               for t in topics.values())
    assert all((bag / f).is_file() for f in meta["relative_file_paths"])


def test_sqlite3_split_sigterm(ros_env: dict, tmp_path: Path) -> None:
    bag = tmp_path / "sq"
    rec, pub = _record(ros_env, tmp_path, bag, 40, 16, 0.02, ["--storage", "sqlite3", "--max-size", "8000"])
    try:
        _wait_for(pub, "published")
        time.sleep(1.0)
        rec.proc.send_signal(signal.SIGTERM)
        assert rec.proc.wait(20) == 0, rec.output()
    finally:
        rec.stop()
        pub.stop()
    files = sorted(bag.glob("*.db3"))
    assert len(files) >= 3, files
    _assert_prefix_equal(_read(bag), 16, 40)


def test_sigkill_keeps_flushed_chunks(ros_env: dict, tmp_path: Path) -> None:
    bag = tmp_path / "killed"
    rec, pub = _record(ros_env, tmp_path, bag, 400, 48, 0.01, ["--max-duration", "1.0"])
    try:
        _wait_for(rec, "recording /policy/experience")
        time.sleep(2.5)  # mid-stream
        rec.kill()
    finally:
        rec.stop()
        pub.stop()
    assert list(bag.glob("_partial_*")), "the kill should leave an unfinished split"
    got = _read(bag)  # salvaged in a temporary view
    assert min(len(v) for v in got.values()) > 20
    _assert_prefix_equal(got, 48, None)
    fixed = subprocess.run([sys.executable, "-m", "rig_trainer.bag_recorder", "--repair", str(bag)], env=ros_env,
                           capture_output=True, text=True, timeout=60)
    assert fixed.returncode == 0, fixed.stderr
    assert not list(bag.glob("_partial_*"))
    again = _read(bag)
    assert {t: len(v) for t, v in again.items()} == {t: len(v) for t, v in got.items()}
