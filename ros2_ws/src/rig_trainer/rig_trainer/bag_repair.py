"""Repair a rosbag2 bag after a crash, a power loss or a cut copy: keep every complete message, write a
valid bag with its metadata.yaml, keep the original.

`repair(BAG)` (bag_recorder --repair) builds the repaired bag beside BAG, then moves the original to
BAG.orig, byte for byte as it was, and puts the repaired bag at BAG, so commands that read BAG go on
working. Complete files are hard-linked (copied where links fail), not rewritten. MCAP files that were cut
(no footer) are rewritten with their complete messages (`mcap_recover`); unfinished splits left by a
killed recorder (`_partial_<i>/`) are recovered the same way (sqlite3: their committed transactions).
A lone MCAP file outside a bag (`x.mcap`) is recovered into a new bag directory `x/` beside it.
`repaired_view` does the same for unfinished splits only, into a temporary view, for the bag reader.
"""

from __future__ import annotations

import copy
import datetime
import functools
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML, YAMLError

from rig_trainer import mcap_recover
from rig_trainer.bags import ORIGINAL_SUFFIX, PARTIAL, STORAGES, BagError, FileInfo, make_typestore, repair_hint, write_metadata

LIBRARY = "rig_trainer.bag_repair"


@dataclass
class Part:
    """One storage file of a bag: where it is, its name in the repaired bag, whether it is unfinished (to be
    recovered whatever its state), and what to call it in a note."""

    src: Path
    name: str
    partial: bool
    label: str


@dataclass
class Plan:
    bag: Path
    storage: str
    parts: list[Part]
    meta: dict[str, Any] | None  # the old metadata.yaml's rosbag2_bagfile_information, if readable
    problems: list[str]  # why the bag needs repair (empty: it does not)
    dropped: list[str]  # unfinished splits with no file at all


def _split_index(path: Path) -> tuple[int, str]:
    match = re.search(r"_(\d+)$", path.stem)
    return (int(match.group(1)) if match else 1 << 30, path.name)


def _load_meta(bag: Path) -> tuple[dict[str, Any] | None, str]:
    path = bag / "metadata.yaml"
    if not path.is_file():
        return None, "no metadata.yaml"
    try:
        return YAML(typ="safe").load(path.read_text())["rosbag2_bagfile_information"], ""
    except (YAMLError, KeyError, TypeError, OSError, UnicodeDecodeError) as err:
        return None, f"unreadable metadata.yaml ({type(err).__name__})"


def plan(bag: Path) -> Plan:
    """What the bag holds and what is wrong with it. BagError if it holds no bag file at all."""
    meta, meta_problem = _load_meta(bag)
    problems = [meta_problem] if meta_problem else []
    partials = sorted((p for p in bag.glob(f"{PARTIAL}*") if p.is_dir()), key=_split_index)
    storage = (meta or {}).get("storage_identifier") or ""
    if storage not in STORAGES:
        has_db3 = any(bag.glob("*.db3")) or any(p.glob("*.db3") for p in partials)
        storage = "sqlite3" if has_db3 else "mcap"
    suffix = STORAGES[storage][1]
    listed = [Path(p).name for p in (meta or {}).get("relative_file_paths", [])]
    present = sorted((p for p in bag.glob(f"*{suffix}") if p.is_file()), key=_split_index)
    for name in listed:
        if not (bag / name).is_file():
            problems.append(f"{name} is listed but missing")
    for path in present:
        if path.name not in listed and meta is not None:
            problems.append(f"{path.name} is not listed in metadata.yaml")
    parts = [Part(p, p.name, False, p.name) for p in present]
    prefix = present[0].stem.rsplit("_", 1)[0] if present else bag.name
    dropped = []
    for part in partials:
        files = sorted(part.glob(f"*{suffix}"))
        name = f"{prefix}_{part.name[len(PARTIAL):]}{suffix}"
        problems.append(f"unfinished split {part.name}")
        if not files:
            dropped.append(f"unfinished split {part.name}: no {suffix} file (lost in a crash); dropped")
        elif name not in {p.name for p in parts}:
            parts.append(Part(files[0], name, True, f"unfinished split {part.name}"))
    if storage == "mcap":
        problems += [f"{p.name} is cut or damaged" for p in parts if not p.partial and not mcap_recover.is_intact(p.src)]
    if not parts and not partials:
        raise BagError(f"{bag}: no bag files here (*.mcap, *.db3 or {PARTIAL}<i>/); not a rosbag2 bag")
    return Plan(bag, storage, parts, meta, problems, dropped)


# ---- per-file facts for metadata.yaml ------------------------------------------------------------
class _Topics:
    """topic_metadata entries; type hashes from the old metadata.yaml, else from our typestore."""

    def __init__(self, meta: dict[str, Any] | None) -> None:
        entries = [t["topic_metadata"] for t in (meta or {}).get("topics_with_message_count", []) if "topic_metadata" in t]
        self.hashes = {(t["name"], t["type"]): t.get("type_description_hash", "") for t in entries}
        self._store: Any = None

    def _hash(self, name: str, msgtype: str) -> str:
        if self.hashes.get((name, msgtype)):
            return self.hashes[(name, msgtype)]
        with suppress(Exception):
            self._store = self._store or make_typestore()
            return self._store.hash_rihs01(msgtype)
        return ""

    def entry(self, name: str, msgtype: str, fmt: str, qos: str, count: int) -> dict[str, Any]:
        """`qos`: the offered QoS profiles as the channel (or sqlite3 topics table) stores them, YAML text."""
        return {"topic_metadata": {"name": name, "type": msgtype, "serialization_format": fmt,
                                   "offered_qos_profiles": copy.deepcopy(_qos_profiles(qos)),
                                   "type_description_hash": self._hash(name, msgtype)},
                "message_count": count}


@functools.lru_cache(maxsize=64)
def _qos_profiles(text: str) -> list[Any]:
    """The list rosbag2 (version 9) writes in metadata.yaml; the reader matches it against the file's own."""
    try:
        return YAML(typ="safe").load(text) or [] if text.strip() else []
    except YAMLError:
        return []


def _mcap_topics(topics: _Topics, channels: dict, schemas: dict, counts: dict[int, int]) -> list[dict[str, Any]]:
    return [topics.entry(ch.topic, schemas[ch.schema_id].name if ch.schema_id in schemas else "", ch.message_encoding,
                         ch.metadata.get("offered_qos_profiles", ""), counts.get(cid, 0)) for cid, ch in sorted(channels.items())]


def complete_mcap_info(path: Path, name: str, topics: _Topics) -> FileInfo:
    try:
        channels, schemas, counts, start, end = mcap_recover.summary_counts(path)
    except (mcap_recover.McapRecoveryError, *mcap_recover.PARSE_ERRORS, OSError) as err:
        raise BagError(f"{path}: has an MCAP footer but an unreadable summary ({err})") from None
    return FileInfo(name, _mcap_topics(topics, channels, schemas, counts), start if sum(counts.values()) else 0, end)


def recover_mcap(src: Path, dst: Path, topics: _Topics) -> tuple[FileInfo, mcap_recover.Recovery]:
    try:
        found = mcap_recover.recover(src, dst, LIBRARY)
    except mcap_recover.McapRecoveryError as err:
        raise BagError(str(err)) from None
    info = FileInfo(dst.name, _mcap_topics(topics, found.channels, found.schemas, found.counts), found.start_ns, found.end_ns)
    return info, found


_SQLITE_TOPICS = ("SELECT t.name, t.type, t.serialization_format, t.offered_qos_profiles, COUNT(m.id), MIN(m.timestamp), "
                  "MAX(m.timestamp) FROM topics t LEFT JOIN messages m ON m.topic_id = t.id GROUP BY t.id ORDER BY t.id")


def _sqlite_info(conn: sqlite3.Connection, name: str, topics: _Topics) -> FileInfo:
    rows = conn.execute(_SQLITE_TOPICS).fetchall()
    entries = [topics.entry(n, t, f, q or "", c) for n, t, f, q, c, _, _ in rows]
    starts, ends = [r[5] for r in rows if r[4]], [r[6] for r in rows if r[4]]
    return FileInfo(name, entries, min(starts, default=0), max(ends, default=0))


def sqlite3_info(path: Path, name: str, topics: _Topics) -> FileInfo:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return _sqlite_info(conn, name, topics)
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise BagError(f"{path}: sqlite3 file is unreadable: {err}") from None


def salvage_sqlite3(src: Path, dst: Path, topics: _Topics) -> FileInfo:
    """Copy the committed transactions of an unfinished sqlite3 split (rolling back a hot journal)."""
    tmp = dst.with_name(dst.name + ".tmp")
    with suppress(FileNotFoundError):
        tmp.unlink()
    try:
        conn = sqlite3.connect(f"file:{src}", uri=True)
        out = sqlite3.connect(tmp)
        conn.backup(out)
        conn.close()
        info = _sqlite_info(out, dst.name, topics)
        out.close()
    except sqlite3.DatabaseError as err:
        raise BagError(f"{src}: sqlite3 split is unreadable: {err}") from None
    os.replace(tmp, dst)
    return info


# ---- building a repaired bag ---------------------------------------------------------------------
@dataclass
class Outcome:
    infos: list[FileInfo]
    notes: list[str]  # one per recovered or dropped file

    @property
    def message_count(self) -> int:
        return sum(i.count for i in self.infos)


def _new_dir_beside(bag: Path, mode_of: Path) -> Path:
    """An empty directory next to `bag` (same file system, so renames are atomic) with the mode of `mode_of`."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{bag.name}.repairing-", dir=bag.parent))
    os.chmod(tmp, mode_of.stat().st_mode & 0o7777)
    return tmp


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _part(p: Plan, part: Part, target: Path, topics: _Topics, keep: Callable[[Path, Path], None],
          finished_too: bool) -> tuple[FileInfo | None, str]:
    """The repaired file for one part (None: nothing left of it) and a note when it was not complete."""
    dst = target / part.name
    what = part.label
    if part.src.stat().st_size == 0:
        return None, f"{what}: empty (lost in a crash); dropped"
    note = ""
    if p.storage == "sqlite3" and part.partial:
        info = salvage_sqlite3(part.src, dst, topics)
        note = f"{what}: kept {info.count} messages in committed transactions as {dst.name}"
    elif p.storage == "sqlite3":
        info = sqlite3_info(part.src, part.name, topics)
        keep(part.src, dst)
    elif part.partial or not mcap_recover.is_intact(part.src):
        if not part.partial and not finished_too:
            raise BagError(f"{p.bag}: {part.name} is cut or damaged (no readable MCAP footer and summary); {repair_hint(p.bag)}")
        info, found = recover_mcap(part.src, dst, topics)
        note = f"{what}: {found.message_count} messages kept, {', '.join(found.notes) or 'no footer'}"
    else:
        keep(part.src, dst)
        info = complete_mcap_info(dst, part.name, topics)
    if not info.count:
        dst.unlink(missing_ok=True)
        return None, note or f"{what}: no messages; dropped"
    return info, note


def build(p: Plan, target: Path, keep: Callable[[Path, Path], None], finished_too: bool = True) -> Outcome:
    """Write the repaired bag into the existing directory `target`: complete files through `keep(src, dst)`,
    cut or unfinished ones recovered (cut finished files only with `finished_too`), then metadata.yaml."""
    topics = _Topics(p.meta)
    infos, notes = [], list(p.dropped)
    for part in p.parts:
        info, note = _part(p, part, target, topics, keep, finished_too)
        infos += [info] if info else []
        notes += [note] if note else []
    write_metadata(target, infos, p.storage)
    return Outcome(infos, notes)


def repaired_view(bag: Path, into: Path) -> list[str]:
    """A readable view of a bag with unfinished splits (left by a crash) in `into`: finished files symlinked,
    unfinished splits recovered. Returns one warning line per unfinished split; `bag` is not touched."""
    p = plan(bag)
    into.mkdir(parents=True, exist_ok=True)
    outcome = build(p, into, lambda src, dst: dst.symlink_to(src.resolve()), finished_too=False)
    return [f"{bag}: {note}" for note in outcome.notes]


def _when(ns: int) -> str:
    return datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _summary(outcome: Outcome, where: str) -> str:
    start = min(i.start for i in outcome.infos)
    end = max(i.end for i in outcome.infos)
    topics = {t["topic_metadata"]["name"] for i in outcome.infos for t in i.topics if t["message_count"]}
    notes = f" ({'; '.join(outcome.notes)})" if outcome.notes else ""
    return (f"saved {outcome.message_count} messages on {len(topics)} topic{'s' * (len(topics) != 1)}, up to {_when(end)} "
            f"({(end - start) / 1e9:.1f} s after the first); {where}{notes}")


def _repair_file(path: Path) -> str:
    """A lone MCAP file: recover it into a new bag directory beside it."""
    with open(path, "rb") as f:
        head = f.read(len(mcap_recover.MAGIC))
    if not head:
        raise BagError(f"{path}: empty file (0 bytes), nothing to recover")
    if not mcap_recover.MAGIC.startswith(head):
        raise BagError(f"{path}: not a bag (neither a rosbag2 directory nor an MCAP file)")
    if mcap_recover.is_intact(path):
        return f"{path}: nothing to repair (a complete MCAP file)"
    bag = path.with_suffix("") if path.suffix else path.with_name(f"{path.name}_bag")
    if bag.exists():
        raise BagError(f"{path}: would write the repaired bag to {bag}, which exists; move it away first")
    p = Plan(bag, "mcap", [Part(path, f"{bag.name}_0.mcap", True, path.name)], None, ["cut"], [])
    tmp = _new_dir_beside(bag, bag.parent)
    try:
        outcome = build(p, tmp, _link_or_copy)
        if not outcome.message_count:
            raise BagError(f"{path}: no complete message to recover ({'; '.join(outcome.notes)})")
        os.replace(tmp, bag)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return f"{path}: {_summary(outcome, f'repaired bag written to {bag}, {path.name} left as it was')}"


def repair(path: str | Path) -> str:
    """Repair the bag (directory) or lone MCAP file `path`; returns the one-line report. The original bag
    is moved to BAG.orig and the repaired one takes its place. BagError (one line) on bad input; then
    nothing is changed."""
    path = Path(path)
    if not path.exists():
        raise BagError(f"{path}: no such bag")
    if path.name in ("", ".."):  # "." or "..": name the directory, for BAG.orig
        path = path.resolve()
    if path.is_file():
        if path.parent.name.startswith(PARTIAL):
            path = path.parent.parent
        elif (path.parent / "metadata.yaml").is_file():
            path = path.parent
        else:
            return _repair_file(path)
    bag = path
    p = plan(bag)
    if not p.problems:
        return f"{bag}: nothing to repair ({len(p.parts)} complete {p.storage} file{'s' * (len(p.parts) != 1)})"
    original = bag.with_name(bag.name + ORIGINAL_SUFFIX)
    if original.exists():
        raise BagError(f"{bag}: {original} exists (an earlier repair's original?); move it away first")
    tmp = _new_dir_beside(bag, bag)
    try:
        outcome = build(p, tmp, _link_or_copy)
        if not outcome.message_count:
            raise BagError(f"{bag}: no complete message to recover ({'; '.join(outcome.notes or p.problems)})")
        os.replace(bag, original)
        os.replace(tmp, bag)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return f"{bag}: {_summary(outcome, f'repaired bag in {bag}, original kept as {original}')}"
