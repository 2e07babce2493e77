"""bag_recorder --repair on bags cut by a power loss: a bag written by the recorder's BagWriter (four topics,
chunks flushed as the recorder does) is cut at many byte offsets; each repair must keep exactly the
messages whose records were complete before the cut, computed here from the intact file's summary and
message indexes (not by walking its records). Then offline_train reads a repaired bag; a lone cut file
becomes a bag; an unfinished MCAP or sqlite3 split keeps what was flushed; a cut zstd chunk gives back what
its complete blocks hold; bad input fails in one line and changes nothing."""

from __future__ import annotations

import filecmp
import json
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
from collections import Counter
from io import BytesIO
from pathlib import Path

import pytest
from bag_publisher import make
from mcap.data_stream import ReadDataStream
from mcap.reader import make_reader
from mcap.records import Footer, MessageIndex
from rclpy.serialization import serialize_message
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
from ruamel.yaml import YAML

from rig_trainer import bag_recorder
from rig_trainer.bag_repair import repair
from rig_trainer.bags import BagError, BagWriter, iter_raw, make_typestore, open_bag

TYPES = {"/camera/image_raw": "sensor_msgs/msg/Image", "/robot/ee_velocity_cmd": "geometry_msgs/msg/TwistStamped",
         "/robot/ee_pose": "geometry_msgs/msg/PoseStamped", "/policy/experience": "rig_interfaces/msg/ExperienceStep"}
STEPS = 85  # 4 messages a step, ~14 KB: a 1.2 MB file
T0 = 1_700_000_000 * 10**9


def _stamp(i: int, k: int) -> int:
    return T0 + i * 100_000_000 + k * 1_000_000


def _record(path: Path, storage: str = "mcap", steps: int = STEPS, close: bool = True) -> BagWriter:
    """The recorder's writer fed what the recorder receives; a chunk is flushed every 5 steps (its timer)."""
    writer = BagWriter(path, storage)
    for topic, msgtype in TYPES.items():
        writer.add_topic(topic, msgtype)
    for i in range(steps):
        for k, (topic, msg) in enumerate(make(i, 48).items()):
            writer.write(topic, _stamp(i, k), serialize_message(msg))
        if i % 5 == 4:
            writer.flush()
    if close:
        writer.close()
    return writer


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bag = tmp_path_factory.mktemp("intact") / "demo"
    _record(bag)
    return bag


def _message_ends(mcap: Path) -> list[tuple[int, str, int, bytes, int]]:
    """(end byte of the record, topic, log time, data, start byte of the record) of every message of an intact
    MCAP file, located through its summary's chunk indexes and the chunks' message indexes."""
    data = mcap.read_bytes()
    with open(mcap, "rb") as f:
        summary = make_reader(f).get_summary()
    topics = {cid: ch.topic for cid, ch in summary.channels.items()}
    out = []
    for chunk in summary.chunk_indexes:
        assert chunk.compression == ""  # what our recorder writes
        records = chunk.chunk_start_offset + 9 + 8 + 8 + 8 + 4 + 4 + 8
        for cid, at in chunk.message_index_offsets.items():
            assert data[at] == 0x07
            index = MessageIndex.read(ReadDataStream(BytesIO(data[at + 9:])))
            for log_time, offset in index.records:
                start = records + offset
                assert data[start] == 0x05
                length = struct.unpack_from("<Q", data, start + 1)[0]
                out.append((start + 9 + length, topics[cid], log_time, data[start + 9 + 22:start + 9 + length], start))
    return sorted(out)


def _cuts(mcap: Path, ends: list[int]) -> list[int]:
    """Offsets inside the magic and header, at and inside chunk headers, inside, at and after message records,
    inside message indexes, in the summary, just before and inside the footer, and some at random."""
    data = mcap.read_bytes()
    size = len(data)
    header_end = 8 + 9 + struct.unpack_from("<Q", data, 9)[0]
    footer = Footer.read(ReadDataStream(BytesIO(data[size - 8 - 20:])))
    with open(mcap, "rb") as f:
        chunks = make_reader(f).get_summary().chunk_indexes
    cuts = {1, 4, 8, 12, header_end - 1, header_end, header_end + 5}
    for chunk in chunks[:1] + chunks[len(chunks) // 2:len(chunks) // 2 + 1] + chunks[-1:]:
        start = chunk.chunk_start_offset
        cuts |= {start, start + 5, start + 30, start + 49, start + 55, start + chunk.chunk_length + 4}
    for end in ends[:3] + ends[len(ends) // 2:len(ends) // 2 + 3] + ends[-2:]:
        cuts |= {end - 1, end, end + 1}
    footer_start = size - 8 - 29
    cuts |= {footer.summary_start - 13, footer.summary_start - 1, footer.summary_start, footer.summary_start + 7,
             footer_start - 1, footer_start, footer_start + 10, size - 3}
    rng = random.Random(0)
    cuts |= {rng.randrange(1, size) for _ in range(10)}
    return sorted(cuts)


def _cut_copy(intact: Path, bag: Path, at: int) -> Path:
    bag.mkdir(parents=True)
    shutil.copy(intact / "metadata.yaml", bag / "metadata.yaml")
    (bag / "demo_0.mcap").write_bytes((intact / "demo_0.mcap").read_bytes()[:at])
    return bag


def _messages(bag: Path) -> list[tuple[int, str, bytes]]:
    with open_bag(bag) as reader:
        return [(t, topic, bytes(data)) for topic, _, t, data in iter_raw(reader, bag)]


def _meta(bag: Path) -> dict:
    return YAML(typ="safe").load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]


def test_cut_anywhere_keeps_exactly_the_complete_messages(intact: Path, tmp_path: Path) -> None:
    mcap = intact / "demo_0.mcap"
    messages = _message_ends(mcap)
    assert len(messages) == 4 * STEPS and mcap.stat().st_size > 1_100_000
    ends = [m[0] for m in messages]
    cuts = _cuts(mcap, ends)
    counts = []
    for at in cuts:
        bag = _cut_copy(intact, tmp_path / f"cut{at}", at)
        expected = Counter((t, topic, data) for end, topic, t, data, _ in messages if end <= at)
        if not expected:
            with pytest.raises(BagError, match="no complete message to recover"):
                repair(bag)
            assert sorted(p.name for p in bag.iterdir()) == ["demo_0.mcap", "metadata.yaml"]
            assert not bag.with_name(bag.name + ".orig").exists()
            counts.append(0)
            continue
        line = repair(bag)
        assert f"saved {sum(expected.values())} messages" in line and "\n" not in line, (at, line)
        assert Counter(_messages(bag)) == expected, f"cut at {at}"
        meta = _meta(bag)
        assert meta["message_count"] == sum(expected.values())
        counted = {t["topic_metadata"]["name"]: t["message_count"] for t in meta["topics_with_message_count"]}
        assert {k: v for k, v in counted.items() if v} == dict(Counter(topic for _, topic, _ in expected.elements()))
        orig = bag.with_name(bag.name + ".orig")
        assert (orig / "demo_0.mcap").read_bytes() == mcap.read_bytes()[:at]  # the original, as it was
        assert filecmp.cmp(orig / "metadata.yaml", intact / "metadata.yaml", shallow=False)
        counts.append(sum(expected.values()))
    inside = sum(1 for at in cuts if any(start < at < end for end, *_, start in messages))
    print(f"\ncut at {len(cuts)} offsets ({inside} inside a message record) of a {mcap.stat().st_size}-byte file: "
          f"recovered exactly the complete-message count at each ({min(counts)}..{max(counts)} of {len(messages)})")
    assert len(cuts) > 50 and inside > 15 and 0 in counts and len(messages) in counts
    assert repair(intact).endswith("nothing to repair (1 complete mcap file)")


def test_cli_repair_then_offline_train(intact: Path, tmp_path: Path, ros_env: dict[str, str]) -> None:
    """The issue's case: 1.2 MB recording cut at 600 KB; offline_train refuses it, --repair saves it, then trains."""
    bag = _cut_copy(intact, tmp_path / "demo", 600_000)
    complete = [(t, topic) for end, topic, t, *_ in _message_ends(intact / "demo_0.mcap") if end <= 600_000]
    train = [sys.executable, "-m", "rig_trainer.offline_train", str(bag), "--out", str(tmp_path / "run"), "--steps", "5",
             "--vae-batches", "2", "--batch-size", "8", "--hidden", "8", "--latent-dim", "2", "--threads", "1"]
    fixed = subprocess.run([sys.executable, "-m", "rig_trainer.bag_recorder", "--repair", str(bag)], env=ros_env,
                           capture_output=True, text=True, timeout=60)
    assert fixed.returncode == 0, fixed.stderr
    line = fixed.stdout.strip()
    last = max(t for t, _ in complete)
    assert len(line.splitlines()) == 1 and f"saved {len(complete)} messages on 4 topics" in line, line
    assert "up to 2023-11-14T22:13:" in line and f"({(last - min(t for t, _ in complete)) / 1e9:.1f} s after" in line, line
    assert f"original kept as {bag}.orig" in line, line
    res = subprocess.run(train, env=ros_env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["dataset"]["steps"] == sum(1 for _, topic in complete if topic == "/policy/experience")


def test_lone_cut_mcap_file_becomes_a_bag_beside_it(intact: Path, tmp_path: Path) -> None:
    cut = tmp_path / "robot_run.mcap"
    cut.write_bytes((intact / "demo_0.mcap").read_bytes()[:900_000])
    expected = Counter((t, topic, data) for end, topic, t, data, _ in _message_ends(intact / "demo_0.mcap") if end <= 900_000)
    line = repair(cut)
    bag = tmp_path / "robot_run"
    assert f"saved {sum(expected.values())} messages" in line and f"repaired bag written to {bag}" in line, line
    assert sorted(p.name for p in bag.iterdir()) == ["metadata.yaml", "robot_run_0.mcap"]
    assert Counter(_messages(bag)) == expected and cut.stat().st_size == 900_000


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_unfinished_split_keeps_flushed_messages(storage: str, tmp_path: Path) -> None:
    """A crash while recording: what is on disk then (copied while the writer is open) is repaired."""
    live = tmp_path / "live"
    writer = _record(live, storage, steps=12, close=False)  # 10 steps flushed (chunks / commits), 2 not
    bag = tmp_path / "crashed"
    shutil.copytree(live, bag)
    writer.close()
    if storage == "sqlite3":
        with sqlite3.connect(next(bag.glob("_partial_0/*.db3"))) as conn:  # the copy holds only committed rows
            assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 40
    line = repair(bag)
    assert "saved 40 messages on 4 topics" in line, line
    assert ("committed transactions" if storage == "sqlite3" else "unfinished split _partial_0: 40 messages kept") in line
    assert not list(bag.glob("_partial_*")) and (tmp_path / "crashed.orig" / "_partial_0").is_dir()
    got = _messages(bag)
    assert [(t, topic) for t, topic, _ in got] == [(_stamp(i, k), topic) for i in range(10) for k, topic in enumerate(TYPES)]
    assert repair(bag).endswith(f"nothing to repair (1 complete {storage} file)")


def test_cut_zstd_chunk_gives_its_complete_blocks(tmp_path: Path) -> None:
    """MCAP with zstd chunks (rosbags storage compression; ros2 bag record's default): a cut inside the last
    chunk keeps every earlier chunk and the complete messages in the blocks that decompress."""
    store = make_typestore()
    src = tmp_path / "z"
    writer = Writer(src, version=9, storage_plugin=StoragePlugin.MCAP)
    writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    writer.open()
    conn = writer.add_connection("/camera/image_raw", "sensor_msgs/msg/Image", typestore=store)
    frames = [serialize_message(make(i, 48)["/camera/image_raw"]) for i in range(150)]
    rng = random.Random(1)
    for i, frame in enumerate(frames):
        noisy = frame[:-6912] + rng.randbytes(6912)  # incompressible pixels: blocks of compressed data
        frames[i] = noisy
        writer.write(conn, T0 + i, noisy)
        if i in (19, 39):
            writer.storage.close_chunk()
    writer.close()
    mcap = next(src.glob("*.mcap"))
    with open(mcap, "rb") as f:
        chunks = make_reader(f).get_summary().chunk_indexes
    assert [c.compression for c in chunks] == ["zstd"] * 3
    last = chunks[-1]
    cut = last.chunk_start_offset + last.chunk_length // 2
    bag = tmp_path / "zcut"
    bag.mkdir()
    shutil.copy(src / "metadata.yaml", bag)
    (bag / mcap.name).write_bytes(mcap.read_bytes()[:cut])
    line = repair(bag)
    got = _messages(bag)
    assert 40 < len(got) <= 40 + 110 // 2, line  # more than the complete chunks, at most what the bytes held
    assert [data for _, _, data in got] == frames[:len(got)]
    assert f"saved {len(got)} messages" in line and "zstd chunk" in line and "that decompress" in line, line


@pytest.mark.parametrize("case", ["no such bag", "not a bag", "empty file", "empty directory", "directory of other files",
                                  "cut in the header", "corrupt header", "original already kept"])
def test_bad_input_one_line_nonzero(case: str, tmp_path: Path, intact: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "x"
    if case == "not a bag":
        target.write_text("hello\n")
    elif case == "empty file":
        target = tmp_path / "x.mcap"
        target.touch()
    elif case == "empty directory":
        target.mkdir()
    elif case == "directory of other files":
        target.mkdir()
        (target / "notes.txt").write_text("run 3\n")
    elif case == "cut in the header":
        target = _cut_copy(intact, target, 20)
    elif case == "corrupt header":
        target = _cut_copy(intact, target, (intact / "demo_0.mcap").stat().st_size)
        data = bytearray((target / "demo_0.mcap").read_bytes())
        data[9:40] = b"\xff" * 31
        (target / "demo_0.mcap").write_bytes(bytes(data))
    elif case == "original already kept":
        target = _cut_copy(intact, target, 600_000)
        (tmp_path / "x.orig").mkdir()
    before = sorted((p.relative_to(tmp_path), p.stat().st_size) for p in tmp_path.rglob("*"))
    assert bag_recorder.main(["--repair", str(target)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(target) in err, err
    assert {"no such bag": "no such bag", "not a bag": "not a bag", "empty file": "empty file",
            "empty directory": "no bag files", "directory of other files": "no bag files",
            "cut in the header": "no complete message", "corrupt header": "no complete message",
            "original already kept": "exists"}[case] in err, err
    assert sorted((p.relative_to(tmp_path), p.stat().st_size) for p in tmp_path.rglob("*")) == before
