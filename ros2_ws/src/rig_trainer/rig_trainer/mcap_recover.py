"""Recover the complete messages of an MCAP file that was cut (power loss, crash, interrupted copy).

No MCAP reader opens a file without its footer, so this walks the records from the start as the MCAP spec
lays them out (mcap.dev/spec: magic, then records of opcode u8 + length u64 + body). A record whose bytes
all lie before the cut is parsed with the `mcap` package's record classes. The chunk that was cut is opened
as far as its bytes go: uncompressed, every complete record in it counts; zstd or lz4, the complete records
in what a streaming decompressor returns from the bytes present (whole compression blocks). The messages
found are written to a new, indexed MCAP file with `mcap.writer.Writer`; nothing here needs ROS.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import lz4.frame
import zstandard
from mcap.data_stream import ReadDataStream
from mcap.exceptions import McapError
from mcap.opcode import Opcode
from mcap.reader import make_reader
from mcap.records import Channel, Chunk, Header, McapRecord, Message, Schema
from mcap.writer import CompressionType, Writer

MAGIC = b"\x89MCAP0\r\n"
FOOTER_SIZE = 9 + 20  # opcode + length + summary_start u64, summary_offset_start u64, summary_crc u32
CHUNK_FIXED = 8 + 8 + 8 + 4 + 4  # start, end, uncompressed size, crc, compression string length
PARSE_ERRORS = (McapError, struct.error, UnicodeDecodeError, ValueError, KeyError)


class McapRecoveryError(ValueError):
    """The file is not MCAP, or holds no complete message; the message says which in one line."""


def is_intact(path: Path) -> bool:
    """True when `path` ends in an MCAP footer and magic (written last, so the file was not cut), starts with a
    readable header record and has a readable summary."""
    size = path.stat().st_size
    if size < 2 * len(MAGIC) + FOOTER_SIZE:
        return False
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + 9)
        f.seek(size - FOOTER_SIZE - len(MAGIC))
        tail = f.read()
        if head[:8] != MAGIC or head[8] != Opcode.HEADER or tail[-8:] != MAGIC or tail[0] != Opcode.FOOTER \
                or tail[1:9] != struct.pack("<Q", 20):
            return False
        length = struct.unpack_from("<Q", head, 9)[0]
        if len(MAGIC) + 9 + length > size:
            return False
        try:
            f.seek(len(MAGIC) + 9)
            Header.read(ReadDataStream(BytesIO(f.read(length))))
            f.seek(0)
            return make_reader(f).get_summary() is not None
        except (*PARSE_ERRORS, OSError):
            return False


@dataclass
class Recovery:
    """What was found in a damaged file, and where it ended."""

    size: int
    profile: str = ""
    schemas: dict[int, Schema] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)  # channel id -> messages recovered
    start_ns: int = 0
    end_ns: int = 0
    compression: str = ""  # of the file's chunks
    complete_to: int = 0  # byte offset up to which every record was whole
    notes: list[str] = field(default_factory=list)

    @property
    def message_count(self) -> int:
        return sum(self.counts.values())


def _frames(buf: bytes | mmap.mmap | memoryview, pos: int, stop: int) -> Iterator[tuple[int, int, int]]:
    """(opcode, body start, body end) of the whole records in buf[pos:stop]; ends at the first record that
    is cut (its start is then `stop` or a record with opcode 0, i.e. zero-filled blocks after a power loss)."""
    while pos + 9 <= stop:
        op, length = buf[pos], struct.unpack_from("<Q", buf, pos + 1)[0]
        if op == 0:
            return
        yield op, pos + 9, pos + 9 + length
        pos += 9 + length


def _parse(op: int, body: bytes) -> McapRecord | None:
    stream = ReadDataStream(BytesIO(body))
    if op == Opcode.SCHEMA:
        return Schema.read(stream)
    if op == Opcode.CHANNEL:
        return Channel.read(stream)
    if op == Opcode.MESSAGE:
        return Message.read(stream, len(body))
    if op == Opcode.HEADER:
        return Header.read(stream)
    return None


def _decompress_prefix(compression: str, data: bytes) -> bytes:
    """As much of a cut chunk's records as its compressed bytes give (whole blocks of zstd or lz4 frames)."""
    if compression == "":
        return data
    if compression == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if compression == "lz4":
        return lz4.frame.LZ4FrameDecompressor().decompress(data)
    raise McapRecoveryError(f"unsupported chunk compression {compression!r}")


def _decompress(chunk: Chunk) -> bytes:
    if chunk.compression == "zstd":
        return zstandard.ZstdDecompressor().decompress(chunk.data, max_output_size=chunk.uncompressed_size)
    if chunk.compression == "lz4":
        return lz4.frame.decompress(chunk.data)
    if chunk.compression == "":
        return chunk.data
    raise McapRecoveryError(f"unsupported chunk compression {chunk.compression!r}")


class _Walk:
    """Records of a (possibly cut) MCAP byte buffer in file order; facts gathered into `found`."""

    def __init__(self, buf: bytes | mmap.mmap, found: Recovery) -> None:
        self.buf, self.found = buf, found

    def records(self) -> Iterator[Schema | Channel | Message]:
        buf, found, size = self.buf, self.found, len(self.buf)
        found.complete_to = len(MAGIC)
        for op, lo, hi in _frames(buf, len(MAGIC), size):
            if hi > size:  # the record the cut went through
                if op == Opcode.CHUNK:
                    yield from self._cut_chunk(lo - 9, bytes(buf[lo:size]))
                else:
                    found.notes.append(f"the file ends at byte {size} inside the record (opcode 0x{op:02x}) at byte {lo - 9}")
                return
            if op in (Opcode.DATA_END, Opcode.FOOTER):  # the data section ended: nothing was lost
                found.complete_to = hi
                return
            if op == Opcode.CHUNK:
                yield from self._chunk(lo - 9, bytes(buf[lo:hi]))
            else:
                try:
                    record = _parse(op, bytes(buf[lo:hi]))
                except PARSE_ERRORS as err:
                    found.notes.append(f"unreadable record (opcode 0x{op:02x}) at byte {lo - 9} ({err}); stopped there")
                    return
                if isinstance(record, Header):
                    found.profile = record.profile
                elif record is not None:
                    yield record
            found.complete_to = hi
        end = found.complete_to
        if end < size:
            found.notes.append(f"zero bytes from byte {end} on (blocks never written); stopped there" if buf[end] == 0
                               else f"the file ends at byte {size} inside the opcode and length of the record at byte {end}")

    def _inner(self, data: bytes) -> Iterator[Schema | Channel | Message]:
        """Whole records of a chunk's (decompressed) record bytes; a cut last record is left out."""
        for op, lo, hi in _frames(data, 0, len(data)):
            if hi > len(data):
                return
            try:
                record = _parse(op, data[lo:hi])
            except PARSE_ERRORS:
                return
            if record is not None and not isinstance(record, Header):
                yield record

    def _chunk(self, start: int, body: bytes) -> Iterator[Schema | Channel | Message]:
        try:
            chunk = Chunk.read(ReadDataStream(BytesIO(body)))
            data = _decompress(chunk)
        except (*PARSE_ERRORS, zstandard.ZstdError, RuntimeError) as err:
            self.found.notes.append(f"unreadable chunk at byte {start} ({err}); skipped")
            return
        self.found.compression = self.found.compression or chunk.compression
        if chunk.uncompressed_crc and zlib.crc32(data) != chunk.uncompressed_crc:
            self.found.notes.append(f"chunk at byte {start} fails its CRC (corrupt data); skipped")
            return
        yield from self._inner(data)

    def _cut_chunk(self, start: int, body: bytes) -> Iterator[Schema | Channel | Message]:
        found = self.found
        ends = f"the file ends at byte {found.size} inside the"
        clen = struct.unpack_from("<I", body, CHUNK_FIXED - 4)[0] if len(body) >= CHUNK_FIXED else 0
        records_at = CHUNK_FIXED + clen + 8
        if len(body) < records_at:
            found.notes.append(f"{ends} header of the chunk at byte {start}: its messages are lost")
            return
        try:
            compression = body[CHUNK_FIXED:CHUNK_FIXED + clen].decode()
            size = struct.unpack_from("<Q", body, records_at - 8)[0]
            data = _decompress_prefix(compression, body[records_at:records_at + size])
        except (McapRecoveryError, UnicodeDecodeError, zstandard.ZstdError, RuntimeError) as err:
            found.notes.append(f"cut chunk at byte {start} cannot be opened ({err}): its messages are lost")
            return
        found.compression = found.compression or compression
        kept = 0
        for record in self._inner(data):
            kept += isinstance(record, Message)
            yield record
        if compression:
            usize = struct.unpack_from("<Q", body, 16)[0]
            found.notes.append(f"{ends} {compression} chunk at byte {start}: {kept} complete messages in the {len(data)} "
                               f"of its {usize} bytes that decompress")
        else:
            found.notes.append(f"{ends} chunk at byte {start}: its first {kept} messages were complete")


COMPRESSION = {"": CompressionType.NONE, "zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4}


def recover(src: Path, dst: Path, library: str = "rig_trainer.mcap_recover") -> Recovery:
    """Write every complete message of the cut MCAP file `src` into a new, indexed MCAP file `dst`
    (same schemas, channels, timestamps, bytes and chunk compression). Raises McapRecoveryError when `src`
    is not MCAP; `dst` is written (atomically) even with no message, so the caller decides what to keep."""
    size = src.stat().st_size
    if size == 0:
        raise McapRecoveryError(f"{src}: empty file (0 bytes)")
    with open(src, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        head = buf[:len(MAGIC)]
        if not MAGIC.startswith(head) or (len(head) == len(MAGIC) and head != MAGIC):
            raise McapRecoveryError(f"{src}: not an MCAP file (no MCAP magic)")
        found = Recovery(size)
        if size < len(MAGIC):
            found.notes.append(f"the file ends at byte {size}, inside the file magic")
            records: Iterator = iter(())
        else:
            records = _Walk(buf, found).records()
        tmp = dst.with_name(f".{dst.name}.tmp")
        with open(tmp, "wb") as out:
            writer: Writer | None = None
            schema_ids: dict[int, int] = {}
            channel_ids: dict[int, int] = {}
            for record in records:
                if writer is None:  # the header (profile) is read before the first schema
                    writer = Writer(out, compression=COMPRESSION.get(found.compression, CompressionType.NONE))
                    writer.start(profile=found.profile, library=library)
                if isinstance(record, Schema) and record.id not in schema_ids:
                    found.schemas[record.id] = record
                    schema_ids[record.id] = writer.register_schema(record.name, record.encoding, record.data)
                elif isinstance(record, Channel) and record.id not in channel_ids:
                    if record.schema_id and record.schema_id not in schema_ids:
                        continue  # its schema was lost: so are its messages
                    found.channels[record.id] = record
                    channel_ids[record.id] = writer.register_channel(record.topic, record.message_encoding,
                                                                     schema_ids.get(record.schema_id, 0), record.metadata)
                elif isinstance(record, Message) and record.channel_id in channel_ids:
                    writer.add_message(channel_ids[record.channel_id], record.log_time, record.data,
                                       record.publish_time, record.sequence)
                    if not found.counts:
                        found.start_ns = found.end_ns = record.log_time
                    found.counts[record.channel_id] = found.counts.get(record.channel_id, 0) + 1
                    found.start_ns, found.end_ns = min(found.start_ns, record.log_time), max(found.end_ns, record.log_time)
            if writer is None:
                writer = Writer(out, compression=CompressionType.NONE)
                writer.start(profile=found.profile, library=library)
            writer.finish()
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dst)
    return found


def summary_counts(path: Path) -> tuple[dict[int, Channel], dict[int, Schema], dict[int, int], int, int]:
    """Channels, schemas, per-channel message counts, first and last log time from a complete file's summary."""
    with open(path, "rb") as f:
        summary = make_reader(f).get_summary()
    if summary is None or summary.statistics is None:
        raise McapRecoveryError(f"{path}: no summary statistics")
    stats = summary.statistics
    return (summary.channels, summary.schemas, dict(stats.channel_message_counts), stats.message_start_time,
            stats.message_end_time)
