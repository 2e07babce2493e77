"""rosbag2 files without rosbag2_py: a split, crash-safe writer and a validating reader, both on `rosbags`.

Layout of a recorded bag (what `ros2 bag info/play` and Foxglove open)::

    <bag>/metadata.yaml        rewritten atomically after every finished split; lists finished splits only
    <bag>/<bag>_0.mcap         finished splits (or .db3 with the sqlite3 storage)
    <bag>/_partial_<i>/...     the split being written; left behind only by a crash

A finished split is a complete, indexed file. While a split is open its MCAP chunks (or sqlite3
transactions) are flushed every `flush_period` seconds, so a SIGKILL loses at most that much data:
`repair_bag` (or the reader, in a temporary view with a warning) keeps every complete chunk of the
unfinished split. Custom rig_interfaces types are registered from their .msg text and stored in the bag.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
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
MCAP_MAGIC = b"\x89MCAP0\r\n"


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


# ---- repair --------------------------------------------------------------------------------------
def _records(data: bytes, start: int) -> Iterator[tuple[int, int, int]]:
    """(opcode, content start, end) of the complete top-level MCAP records from `start`."""
    pos = start
    while pos + 9 <= len(data):
        op, size = data[pos], struct.unpack_from("<Q", data, pos + 1)[0]
        end = pos + 9 + size
        if end > len(data):
            return
        yield op, pos + 9, end
        pos = end


def _string(data: bytes, pos: int) -> tuple[str, int]:
    n = struct.unpack_from("<I", data, pos)[0]
    return data[pos + 4:pos + 4 + n].decode(), pos + 4 + n


def salvage_mcap(src: Path, dst: Path, typestore: Typestore) -> FileInfo:
    """Copy the complete chunks of an unfinished MCAP file into a valid, unindexed MCAP file `dst`."""
    data = src.read_bytes()
    if not data.startswith(MCAP_MAGIC):
        raise BagError(f"{src}: not an MCAP file")
    keep = len(MCAP_MAGIC)
    schemas: dict[int, str] = {}
    channels: dict[int, tuple[str, str]] = {}
    counts: dict[int, int] = {}
    start, end = 2**63 - 1, 0
    for op, lo, hi in _records(data, len(MCAP_MAGIC)):
        if op in (0x02, 0x0F):  # footer / data end: the file was finished after all
            break
        if op == 0x06:  # chunk (rosbags writes them uncompressed unless storage compression is on)
            s, e, _, _ = struct.unpack_from("<QQQI", data, lo)
            compression, pos = _string(data, lo + 28)
            if compression:
                break
            size = struct.unpack_from("<Q", data, pos)[0]
            body = data[pos + 8:pos + 8 + size]
            for cop, clo, _chi in _records(body, 0):
                if cop == 0x03:
                    sid = struct.unpack_from("<H", body, clo)[0]
                    schemas[sid], _ = _string(body, clo + 2)
                elif cop == 0x04:
                    cid, sid = struct.unpack_from("<HH", body, clo)
                    topic, _ = _string(body, clo + 4)
                    channels[cid] = (topic, schemas.get(sid, ""))
                elif cop == 0x05:
                    cid = struct.unpack_from("<H", body, clo)[0]
                    counts[cid] = counts.get(cid, 0) + 1
            start, end = min(start, s), max(end, e)
        keep = hi
    out = bytearray(data[:keep])
    out += bytes([0x0F]) + struct.pack("<QI", 4, 0)  # data end (crc 0: not checked)
    out += bytes([0x02]) + struct.pack("<QQQI", 20, 0, 0, 0) + MCAP_MAGIC  # footer without summary
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.write_bytes(bytes(out))
    os.replace(tmp, dst)
    topics = [{"topic_metadata": {"name": topic, "type": msgtype, "serialization_format": "cdr",
                                  "offered_qos_profiles": [],
                                  "type_description_hash": _hash(typestore, msgtype)},
               "message_count": counts.get(cid, 0)} for cid, (topic, msgtype) in sorted(channels.items())]
    return FileInfo(dst.name, topics, start if counts else 0, end)


def _hash(typestore: Typestore, msgtype: str) -> str:
    try:
        return typestore.hash_rihs01(msgtype)
    except Exception:
        return ""


def salvage_sqlite3(src: Path, dst: Path) -> FileInfo:
    """Copy the committed transactions of an unfinished sqlite3 split (rolling back a hot journal)."""
    tmp = dst.with_name(dst.name + ".tmp")
    with suppress(FileNotFoundError):
        tmp.unlink()
    try:
        conn = sqlite3.connect(f"file:{src}", uri=True)
        out = sqlite3.connect(tmp)
        conn.backup(out)
        conn.close()
        rows = out.execute("SELECT t.name, t.type, t.serialization_format, t.type_description_hash, "
                           "COUNT(m.id), MIN(m.timestamp), MAX(m.timestamp) FROM topics t "
                           "LEFT JOIN messages m ON m.topic_id = t.id GROUP BY t.id ORDER BY t.id").fetchall()
        out.close()
    except sqlite3.DatabaseError as err:
        raise BagError(f"{src}: sqlite3 split is unreadable: {err}") from None
    os.replace(tmp, dst)
    topics = [{"topic_metadata": {"name": n, "type": t, "serialization_format": f, "offered_qos_profiles": [],
                                  "type_description_hash": h or ""}, "message_count": c} for n, t, f, h, c, _, _ in rows]
    starts = [r[5] for r in rows if r[4]]
    ends = [r[6] for r in rows if r[4]]
    return FileInfo(dst.name, topics, min(starts, default=0), max(ends, default=0))


def _storage_of(bag: Path) -> str:
    meta = bag / "metadata.yaml"
    if meta.is_file():
        with suppress(Exception):
            return _yaml().load(meta.read_text())["rosbag2_bagfile_information"]["storage_identifier"]
    return "sqlite3" if any(bag.glob(f"{PARTIAL}*/*.db3")) else "mcap"


def _finished_infos(bag: Path) -> list[FileInfo]:
    meta = bag / "metadata.yaml"
    if not meta.is_file():
        return []
    info = _yaml().load(meta.read_text())["rosbag2_bagfile_information"]
    out = []
    for f in info.get("files", []):
        start = f["starting_time"]["nanoseconds_since_epoch"]
        # per-file topic counts are not in metadata.yaml: keep the bag-level topics on the first file
        out.append(FileInfo(f["path"], [], start, start + f["duration"]["nanoseconds"]))
    if out:
        out[0].topics = info["topics_with_message_count"]
    return out


def repair_bag(bag: str | Path, into: Path | None = None) -> list[str]:
    """Turn unfinished splits (left by a crash) into valid files and rewrite metadata.yaml.

    In place by default; with `into`, a repaired view is built there (symlinks to the finished files),
    leaving `bag` untouched. Returns one warning line per salvaged split (empty when nothing to do).
    """
    bag = Path(bag)
    partials = sorted(bag.glob(f"{PARTIAL}*"), key=lambda p: int(p.name[len(PARTIAL):] or 0))
    if not partials:
        return []
    storage = _storage_of(bag)
    _, suffix = STORAGES[storage]
    target = into or bag
    target.mkdir(parents=True, exist_ok=True)
    infos = _finished_infos(bag)
    if into is not None:
        for info in infos:
            (target / info.path).symlink_to((bag / info.path).resolve())
    typestore = make_typestore()
    prefix = infos[0].path.rsplit("_", 1)[0] if infos else bag.name
    warnings = []
    for part in partials:
        files = list(part.glob(f"*{suffix}"))
        index = part.name[len(PARTIAL):]
        if not files or files[0].stat().st_size == 0:
            warnings.append(f"{bag}: unfinished split {part.name} is empty (lost in a crash); dropped")
        else:
            dst = target / f"{prefix}_{index}{suffix}"
            info = salvage_mcap(files[0], dst, typestore) if storage == "mcap" else salvage_sqlite3(files[0], dst)
            warnings.append(f"{bag}: unfinished split {part.name} (crash?): kept {info.count} messages in "
                            f"complete chunks as {dst.name}")
            if info.count:
                infos.append(info)
            else:
                dst.unlink()
        if into is None:
            shutil.rmtree(part)
    write_metadata(target, infos, storage)
    return warnings


# ---- reading -------------------------------------------------------------------------------------
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
            source = Path(tmp) / bag.name
            for line in repair_bag(bag, into=source):
                log.warning(line)
        if not (source / "metadata.yaml").is_file():
            raise BagError(f"{bag}: not a rosbag2 bag (no metadata.yaml)")
        reader = Reader(source)
        try:
            reader.open()
        except (ReaderError, OSError, KeyError, ValueError, TypeError, AssertionError, OverflowError, MemoryError,
                struct.error) as err:
            raise BagError(f"{bag}: unreadable or truncated bag ({err}); a crashed recording can be fixed with "
                           f"`bag_recorder --repair {bag}`") from None
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
           "open_bag", "repair_bag"]
