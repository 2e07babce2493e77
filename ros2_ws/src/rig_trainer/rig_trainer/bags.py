"""rosbag2 files without rosbag2_py: a split, crash-safe writer and a validating reader, both on `rosbags`.

Layout of a recorded bag (what `ros2 bag info/play` and Foxglove open)::

    <bag>/metadata.yaml        rewritten atomically after every finished split; lists finished splits only
    <bag>/<bag>_0.mcap         finished splits (or .db3 with the sqlite3 storage)
    <bag>/_partial_<i>/...     the split being written; left behind only by a crash

A finished split is a complete, indexed file. While a split is open its MCAP chunks (or sqlite3
transactions) are flushed every `flush_period` seconds, so a SIGKILL loses at most that much data:
`bag_repair` (bag_recorder --repair; or the reader, in a temporary view with a warning) keeps every complete
message of the unfinished split; --repair also recovers a finished file cut by a power loss. Custom
rig_interfaces types are registered from their .msg text and stored in the bag.
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer, WriterError
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore
from ruamel.yaml import YAML

from rig_core.errors import RigError

log = logging.getLogger("rig_trainer.bags")

EXPERIENCE_TOPIC = "/policy/experience"
DEFAULT_TOPICS = ("/camera/image_raw", "/robot/ee_velocity_cmd", "/robot/ee_pose", "/robot/joint_states",
                  EXPERIENCE_TOPIC, "/episode/goal", "/teleop/twist", "/teleop/joy")
STORAGES = {"mcap": (StoragePlugin.MCAP, ".mcap"), "sqlite3": (StoragePlugin.SQLITE3, ".db3")}
PARTIAL = "_partial_"
ORIGINAL_SUFFIX = ".orig"  # `bag_recorder --repair BAG` moves the damaged original to BAG.orig


class BagError(RigError):
    """A bag that cannot be written or read; the message names the bag (and topic) in one line."""


# ---- types ---------------------------------------------------------------------------------------
def _msg_dirs() -> list[Path]:
    """Where rig_interfaces' .msg files are: the installed share directory, then the source tree."""
    dirs = []
    with suppress(Exception):
        from ament_index_python.packages import get_package_share_directory

        dirs.append(Path(get_package_share_directory("rig_interfaces")) / "msg")
    dirs.append(Path(__file__).resolve().parents[2] / "rig_interfaces" / "msg")
    return [d for d in dirs if d.is_dir()]


def make_typestore() -> Typestore:
    """ROS 2 Kilted's standard types plus rig_interfaces' messages, registered from their .msg text."""
    store = get_typestore(Stores.ROS2_KILTED)
    dirs = _msg_dirs()
    if not dirs:
        raise BagError("rig_interfaces .msg files not found (build ros2_ws or run from the checkout)")
    types: dict[str, Any] = {}
    for path in sorted(dirs[0].glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"rig_interfaces/msg/{path.stem}"))
    store.register(types)
    return store


# ---- metadata ------------------------------------------------------------------------------------
def _yaml() -> YAML:
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    return yaml


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass
class FileInfo:
    """Per-file facts for metadata.yaml: topics (dicts as rosbag2 writes them) and message counts."""

    path: str
    topics: list[dict[str, Any]]  # {"topic_metadata": {...}, "message_count": n}
    start: int
    end: int

    @property
    def count(self) -> int:
        return sum(t["message_count"] for t in self.topics)


def merged_metadata(files: list[FileInfo], storage: str) -> dict[str, Any]:
    """rosbag2 (version 9) metadata for a bag made of `files`, topics summed across files."""
    topics: dict[tuple[str, str], dict[str, Any]] = {}
    for info in files:
        for entry in info.topics:
            meta = entry["topic_metadata"]
            key = (meta["name"], meta["type"])
            if key in topics:
                topics[key]["message_count"] += entry["message_count"]
            else:
                topics[key] = {"topic_metadata": dict(meta), "message_count": entry["message_count"]}
    with_msgs = [f for f in files if f.count]
    start = min((f.start for f in with_msgs), default=0)
    end = max((f.end for f in with_msgs), default=0)
    return {"rosbag2_bagfile_information": {
        "version": 9,
        "storage_identifier": storage,
        "relative_file_paths": [f.path for f in files],
        "duration": {"nanoseconds": max(0, end - start)},
        "starting_time": {"nanoseconds_since_epoch": start},
        "message_count": sum(f.count for f in files),
        "topics_with_message_count": list(topics.values()),
        "compression_format": "",
        "compression_mode": "",
        "files": [{"path": f.path, "starting_time": {"nanoseconds_since_epoch": f.start if f.count else 0},
                   "duration": {"nanoseconds": max(0, f.end - f.start) if f.count else 0},
                   "message_count": f.count} for f in files],
        "custom_data": {"recorded_by": "rig_trainer.bag_recorder"},
        "ros_distro": "kilted",
    }}


def _info_from_split_metadata(meta_path: Path, file_name: str) -> FileInfo:
    info = _yaml().load(meta_path.read_text())["rosbag2_bagfile_information"]
    start = info["starting_time"]["nanoseconds_since_epoch"]
    return FileInfo(file_name, info["topics_with_message_count"], start, start + info["duration"]["nanoseconds"])


def write_metadata(bag: Path, files: list[FileInfo], storage: str) -> None:
    stream = BytesIO()
    _yaml().dump(merged_metadata(files, storage), stream)
    _write_atomic(bag / "metadata.yaml", stream.getvalue().decode())


# ---- writing -------------------------------------------------------------------------------------
@dataclass
class BagWriter:
    """Record serialized (CDR) messages to a rosbag2 directory, split by size and/or duration.

    `max_bytes` / `max_duration` (s of message time): start a new file when reached (0 = never).
    `flush_period` (s): write the pending MCAP chunk / commit the sqlite3 transaction at least this often.
    """

    path: Path
    storage: str = "mcap"
    max_bytes: int = 0
    max_duration: float = 0.0
    flush_period: float = 1.0
    typestore: Typestore | None = None
    topics: dict[str, str] = field(default_factory=dict)  # topic -> msgtype
    finished: list[FileInfo] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if self.storage not in STORAGES:
            raise BagError(f"{self.path}: unknown storage {self.storage!r} (mcap or sqlite3)")
        if self.path.exists() and any(self.path.iterdir()):
            raise BagError(f"{self.path}: exists and is not empty; not overwriting a bag")
        self.path.mkdir(parents=True, exist_ok=True)
        self.typestore = self.typestore or make_typestore()
        self._writer: Writer | None = None
        self._connections: dict[str, Any] = {}
        self._index = 0
        self._bytes = 0
        self._first_ns: int | None = None
        self._last_flush = time.monotonic()
        self.message_count = 0
        write_metadata(self.path, [], self.storage)  # an empty, valid bag from the start

    def add_topic(self, topic: str, msgtype: str) -> None:
        """Declare a topic; its type must be known (standard ROS 2 or rig_interfaces)."""
        if msgtype not in self.typestore.fielddefs:
            raise BagError(f"{self.path}: topic {topic} has type {msgtype}, unknown to the bag typestore")
        self.topics[topic] = msgtype
        if self._writer is not None:
            self._add_connection(topic)

    def _add_connection(self, topic: str) -> None:
        self._connections[topic] = self._writer.add_connection(topic, self.topics[topic], typestore=self.typestore)

    def _open_split(self) -> None:
        plugin, _ = STORAGES[self.storage]
        self._writer = Writer(self.path / f"{PARTIAL}{self._index}", version=9, storage_plugin=plugin)
        self._writer.open()
        self._connections = {}
        for topic in self.topics:
            self._add_connection(topic)
        self._bytes, self._first_ns = 0, None

    def write(self, topic: str, timestamp_ns: int, data: bytes | memoryview) -> None:
        """Append one serialized message (timestamp: receive time in ns)."""
        if topic not in self.topics:
            raise BagError(f"{self.path}: topic {topic} was not added")
        if self._writer is not None and self._first_ns is not None and (
                (self.max_bytes and self._bytes >= self.max_bytes)
                or (self.max_duration and timestamp_ns - self._first_ns >= self.max_duration * 1e9)):
            self._close_split()
        if self._writer is None:
            self._open_split()
        self._writer.write(self._connections[topic], timestamp_ns, data)
        self._bytes += len(data)
        self._first_ns = timestamp_ns if self._first_ns is None else self._first_ns
        self.message_count += 1
        self.flush(force=False)

    def flush(self, force: bool = True) -> None:
        """Make everything written so far survive a SIGKILL (complete MCAP chunk / sqlite3 commit)."""
        if self._writer is None or (not force and time.monotonic() - self._last_flush < self.flush_period):
            return
        self._last_flush = time.monotonic()
        storage = self._writer.storage
        if self.storage == "mcap":  # rosbags' McapWriter keeps the open chunk in memory until 1 MiB
            if storage.chunk.bio.tell():
                storage.close_chunk()
            storage.bio.flush()
        else:
            storage.conn.commit()

    def _close_split(self) -> None:
        writer, self._writer = self._writer, None
        writer.close()
        part = writer.path
        _, suffix = STORAGES[self.storage]
        name = f"{self.path.name}_{self._index}{suffix}"
        info = _info_from_split_metadata(part / "metadata.yaml", name)
        os.replace(part / f"{part.name}{suffix}", self.path / name)
        shutil.rmtree(part)
        self.finished.append(info)
        write_metadata(self.path, self.finished, self.storage)
        self._index += 1

    def close(self) -> None:
        """Finish the open split and write the final metadata.yaml."""
        if self._writer is not None:
            self._close_split()


# ---- reading -------------------------------------------------------------------------------------
def repair_hint(bag: Path) -> str:
    return (f"`python -m rig_trainer.bag_recorder --repair {bag}` recovers its complete messages (original kept as "
            f"{bag}{ORIGINAL_SUFFIX})")


@contextmanager
def open_bag(path: str | Path) -> Iterator[Reader]:
    """An open rosbags Reader on a bag directory; unfinished splits are salvaged into a temporary view
    (warning logged). Raises BagError with the bag's name on anything unreadable."""
    bag = Path(path)
    if not bag.exists():
        raise BagError(f"{bag}: no such bag")
    if bag.is_file():
        raise BagError(f"{bag}: pass the bag directory (the one holding metadata.yaml), not a file")
    with tempfile.TemporaryDirectory(prefix="rig-bag-view-") as tmp:
        source = bag
        if any(bag.glob(f"{PARTIAL}*")):
            from rig_trainer.bag_repair import repaired_view  # bag_repair builds on this module

            source = Path(tmp) / bag.name
            for line in repaired_view(bag, source):
                log.warning(line)
        if not (source / "metadata.yaml").is_file():
            raise BagError(f"{bag}: not a rosbag2 bag (no metadata.yaml)")
        reader = Reader(source)
        try:
            reader.open()
        except (ReaderError, OSError, KeyError, ValueError, TypeError, AssertionError, OverflowError, MemoryError,
                struct.error) as err:
            raise BagError(f"{bag}: unreadable or truncated bag ({err}); {repair_hint(bag)}") from None
        try:
            yield reader
        finally:
            with suppress(Exception):
                reader.close()


def iter_raw(reader: Reader, bag: Path | str, topics: list[str] | None = None) -> Iterator[tuple[str, str, int, bytes]]:
    """(topic, msgtype, timestamp ns, CDR bytes) in time order; BagError names bag and topic on corruption."""
    conns = [c for c in reader.connections if topics is None or c.topic in topics]
    last_topic = "?"
    try:
        for conn, timestamp, data in reader.messages(connections=conns):
            last_topic = conn.topic
            yield conn.topic, conn.msgtype, timestamp, data
    except (ReaderError, OSError, ValueError, AssertionError, OverflowError, MemoryError, struct.error, IndexError,
            KeyError) as err:
        raise BagError(f"{bag}: corrupt data after topic {last_topic} ({err})") from None


__all__ = ["DEFAULT_TOPICS", "EXPERIENCE_TOPIC", "BagError", "BagWriter", "WriterError", "iter_raw", "make_typestore",
           "open_bag"]
