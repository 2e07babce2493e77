"""The LeRobotDataset v3.0 layout, written with pyarrow (parquet), pandas (the tasks table) and PyAV (mp4).

Facts of the format (huggingface/lerobot, `datasets/utils.py`, `dataset_metadata.py`, `dataset_writer.py`,
docs `lerobot-dataset-v3.mdx`), which this module writes and `validate_dataset` checks::

    meta/info.json                 codebase_version "v3.0", fps, features {key: {dtype, shape, names[, info]}},
                                   totals, chunks_size, file size limits, data_path / video_path templates
    meta/stats.json                {feature: {min, max, mean, std, count, q01, q10, q50, q90, q99}}; images per
                                   channel, shape (3, 1, 1), values in [0, 1]
    meta/tasks.parquet             task_index, indexed by the task string (pandas index "task")
    meta/episodes/chunk-000/file-000.parquet   one row per episode: episode_index, tasks, length,
                                   data/{chunk,file}_index, dataset_{from,to}_index (rows of the concatenated
                                   data), videos/<key>/{chunk,file}_index and {from,to}_timestamp (seconds into
                                   the concatenated mp4), meta/episodes/{chunk,file}_index, stats/<feature>/<stat>
    data/chunk-XXX/file-XXX.parquet           many episodes per file, one row group per episode
    videos/<key>/chunk-XXX/file-XXX.mp4       many episodes per file, frames back to back

Every row carries timestamp = frame_index / fps (seconds in its episode), frame_index, episode_index, index
(row in the whole dataset) and task_index; frame `frame_index` of an episode is the video frame at
`from_timestamp + timestamp` of its file. A new file starts when the current one passes its size limit,
and a chunk holds `chunks_size` files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
INFO_PATH, STATS_PATH, TASKS_PATH = "meta/info.json", "meta/stats.json", "meta/tasks.parquet"
QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
INDEX_FEATURES = {  # the columns every LeRobot dataset has
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}


class DatasetError(ValueError):
    """The dataset on disk does not match what its info.json declares."""


def vector(dtype: str, names: list[str]) -> dict[str, Any]:
    return {"dtype": dtype, "shape": [len(names)], "names": names}


def scalar(dtype: str) -> dict[str, Any]:
    return {"dtype": dtype, "shape": [1], "names": None}


def video_feature(height: int, width: int, fps: int, codec: str, pix_fmt: str) -> dict[str, Any]:
    return {"dtype": "video", "shape": [height, width, 3], "names": ["height", "width", "channels"],
            "info": {"video.height": height, "video.width": width, "video.codec": codec, "video.pix_fmt": pix_fmt,
                     "video.is_depth_map": False, "video.fps": fps, "video.channels": 3, "has_audio": False}}


def arrow_type(feature: dict[str, Any]) -> Any:
    """The parquet column type LeRobot (HF datasets) reads a feature as: a scalar for shape (1,), else a
    fixed-size list."""
    import pyarrow as pa

    value = pa.bool_() if feature["dtype"] == "bool" else pa.from_numpy_dtype(np.dtype(feature["dtype"]))
    shape = list(feature["shape"])
    if shape == [1]:
        return value
    if len(shape) != 1:
        raise DatasetError(f"only scalar and vector features are written to parquet, got shape {shape}")
    return pa.list_(value, shape[0])


def data_schema(features: dict[str, dict[str, Any]]) -> Any:
    import pyarrow as pa

    return pa.schema([(key, arrow_type(ft)) for key, ft in features.items() if ft["dtype"] != "video"])


def chunk_file(position: int) -> tuple[int, int]:
    """(chunk_index, file_index) of the `position`-th file of a series."""
    return divmod(position, CHUNKS_SIZE)


# ---- statistics ------------------------------------------------------------------------------------
def vector_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """LeRobot's per-feature statistics over rows (axis 0), quantiles exact."""
    values = np.asarray(values, np.float64).reshape(len(values), -1)
    stats = {"min": values.min(0), "max": values.max(0), "mean": values.mean(0), "std": values.std(0),
             "count": np.array([len(values)])}
    for q, v in zip(QUANTILES, np.quantile(values, QUANTILES, axis=0), strict=True):
        stats[f"q{round(q * 100):02d}"] = v
    return stats


def image_stats(histogram: np.ndarray, frames: int) -> dict[str, np.ndarray]:
    """Per-channel statistics of uint8 images in [0, 1] (shape (3, 1, 1)), exact, from a (3, 256) histogram."""
    levels = np.arange(256) / 255.0
    total = histogram.sum(1, keepdims=True)
    mean = (histogram * levels).sum(1) / total[:, 0]
    std = np.sqrt(np.maximum((histogram * levels**2).sum(1) / total[:, 0] - mean**2, 0.0))
    nonzero = histogram > 0
    stats = {"min": levels[nonzero.argmax(1)], "max": levels[255 - nonzero[:, ::-1].argmax(1)], "mean": mean, "std": std}
    cdf = np.cumsum(histogram, 1) / total
    for q in QUANTILES:
        stats[f"q{round(q * 100):02d}"] = levels[(cdf < q).sum(1).clip(0, 255)]
    stats = {k: v.reshape(3, 1, 1) for k, v in stats.items()}
    stats["count"] = np.array([frames])
    return stats


def channel_histogram(frames: np.ndarray) -> np.ndarray:
    """(3, 256) counts of the values of (N, H, W, 3) uint8 frames, per channel."""
    flat = frames.reshape(-1, 3)
    return np.stack([np.bincount(flat[:, c], minlength=256) for c in range(3)]).astype(np.int64)


def to_json(stats: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, Any]]:
    return {key: {name: np.asarray(v).tolist() for name, v in s.items()} for key, s in stats.items()}


# ---- writers ---------------------------------------------------------------------------------------
@dataclass
class ParquetSeries:
    """data/chunk-*/file-*.parquet: episodes appended as row groups; a new file past `limit_mb`."""

    root: Path
    features: dict[str, dict[str, Any]]
    limit_mb: float
    position: int = 0
    _writer: Any = None
    _file: Any = None

    def write_episode(self, columns: dict[str, np.ndarray]) -> tuple[int, int]:
        """Append one episode (column arrays in feature order); returns its (chunk_index, file_index)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is not None and self._file.tell() >= self.limit_mb * 2**20:
            self.close()
            self.position += 1
        schema = data_schema(self.features)
        if self._writer is None:
            chunk, file = chunk_file(self.position)
            path = self.root / DATA_PATH.format(chunk_index=chunk, file_index=file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "wb")  # noqa: SIM115 - closed with the writer
            self._writer = pq.ParquetWriter(self._file, schema, compression="snappy")
        arrays = []
        for f in schema:
            values = columns[f.name]
            if pa.types.is_fixed_size_list(f.type):
                flat = pa.array(np.ascontiguousarray(values).reshape(-1), type=f.type.value_type)
                arrays.append(pa.FixedSizeListArray.from_arrays(flat, f.type.list_size))
            else:
                arrays.append(pa.array(values, type=f.type))
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
        return chunk_file(self.position)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._file.close()
            self._writer = self._file = None


@dataclass
class VideoSeries:
    """videos/<key>/chunk-*/file-*.mp4 for one camera: episodes back to back, a new file once the packets
    muxed so far pass `limit_mb` (the encoder holds back a few frames, so a file can pass it by those).
    Frame i of a file has pts i in time base 1/fps, so it shows at i / fps seconds."""

    root: Path
    key: str
    fps: int
    codec: str
    pix_fmt: str
    options: dict[str, str]
    limit_mb: float
    position: int = 0
    frames_in_file: int = 0
    bytes_in_file: int = 0
    _container: Any = None
    _stream: Any = None
    _path: Path | None = None

    def write_episode(self, frames: np.ndarray) -> tuple[int, int, float, float]:
        """Append (N, H, W, 3) uint8 frames; returns (chunk_index, file_index, from_timestamp, to_timestamp)."""
        import av

        if self._container is not None and self.bytes_in_file >= self.limit_mb * 2**20:
            self.close()
            self.position += 1
        if self._container is None:
            chunk, file = chunk_file(self.position)
            self._path = self.root / VIDEO_PATH.format(video_key=self.key, chunk_index=chunk, file_index=file)
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._container = av.open(str(self._path), "w")
            self._stream = self._container.add_stream(self.codec, rate=self.fps, options=dict(self.options))
            self._stream.height, self._stream.width = frames.shape[1:3]
            self._stream.pix_fmt = self.pix_fmt
            self.frames_in_file = self.bytes_in_file = 0
        start = self.frames_in_file
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = self.frames_in_file
            packets = self._stream.encode(frame)
            self.bytes_in_file += sum(p.size for p in packets)
            self._container.mux(packets)
            self.frames_in_file += 1
        return (*chunk_file(self.position), start / self.fps, self.frames_in_file / self.fps)

    def close(self) -> None:
        if self._container is not None:
            self._container.mux(self._stream.encode(None))
            self._container.close()
            self._container = self._stream = None


@dataclass
class EpisodeTable:
    """meta/episodes rows, collected in memory (one small row per episode) and written once."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def write(self, root: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = root / EPISODES_PATH.format(chunk_index=0, file_index=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        columns = {key: [row[key] for row in self.rows] for key in self.rows[0]}
        for key in ("meta/episodes/chunk_index", "meta/episodes/file_index"):
            columns[key] = [0] * len(self.rows)
        pq.write_table(pa.table(columns), path)


def write_tasks(root: Path, tasks: list[str]) -> None:
    import pandas as pd

    frame = pd.DataFrame({"task_index": np.arange(len(tasks), dtype=np.int64)}, index=pd.Index(tasks, name="task"))
    frame.to_parquet(root / TASKS_PATH)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4) + "\n")


def _megabytes(size: float) -> float | int:
    return int(size) if float(size).is_integer() else size


def info_json(features: dict[str, dict[str, Any]], fps: int, episodes: int, frames: int, tasks: int,
              robot_type: str, data_mb: float, video_mb: float) -> dict[str, Any]:
    return {"codebase_version": CODEBASE_VERSION, "robot_type": robot_type, "total_episodes": episodes,
            "total_frames": frames, "total_tasks": tasks, "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": _megabytes(data_mb), "video_files_size_in_mb": _megabytes(video_mb), "fps": fps,
            "splits": {"train": f"0:{episodes}"}, "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if any(ft["dtype"] == "video" for ft in features.values()) else None,
            "features": features}


# ---- validation ------------------------------------------------------------------------------------
def _video_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.demux(video=0) if _.size)


def validate_dataset(root: str | Path) -> None:
    """Check a dataset against its info.json: parquet columns, types and shapes match the declared features,
    episodes tile the data rows and the videos, per-row indices are consistent. Raises DatasetError."""
    import pandas as pd
    import pyarrow.parquet as pq

    root = Path(root)
    info = json.loads((root / INFO_PATH).read_text())
    if info.get("codebase_version") != CODEBASE_VERSION:
        raise DatasetError(f"codebase_version is {info.get('codebase_version')!r}, expected {CODEBASE_VERSION!r}")
    features, fps = info["features"], info["fps"]
    missing = set(INDEX_FEATURES) - set(features)
    if missing:
        raise DatasetError(f"info.json lacks the index features {sorted(missing)}")
    want = data_schema(features)
    episodes = pq.read_table(root / EPISODES_PATH.format(chunk_index=0, file_index=0)).to_pylist()
    if [e["episode_index"] for e in episodes] != list(range(len(episodes))) or len(episodes) != info["total_episodes"]:
        raise DatasetError("meta/episodes does not list episodes 0..total_episodes-1 in order")
    tasks = pd.read_parquet(root / TASKS_PATH)
    if tasks.index.name != "task" or list(tasks["task_index"]) != list(range(len(tasks))):
        raise DatasetError("meta/tasks.parquet must map task strings (index 'task') to task_index 0..n-1")
    rows = 0
    for ep in episodes:
        if ep["dataset_from_index"] != rows or ep["dataset_to_index"] - ep["dataset_from_index"] != ep["length"]:
            raise DatasetError(f"episode {ep['episode_index']}: rows [{ep['dataset_from_index']}, "
                               f"{ep['dataset_to_index']}) do not follow on from row {rows} with length {ep['length']}")
        rows += ep["length"]
    if rows != info["total_frames"]:
        raise DatasetError(f"episodes hold {rows} frames, info.json says {info['total_frames']}")
    by_file: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for ep in episodes:
        by_file.setdefault((ep["data/chunk_index"], ep["data/file_index"]), []).append(ep)
    for (chunk, file), eps in sorted(by_file.items()):
        path = root / info["data_path"].format(chunk_index=chunk, file_index=file)
        table = pq.read_table(path)
        if table.schema.names != want.names:
            raise DatasetError(f"{path.name}: columns {table.schema.names} differ from the declared {want.names}")
        for f in want:
            if table.schema.field(f.name).type != f.type:
                raise DatasetError(f"{path.name}: column {f.name} is {table.schema.field(f.name).type}, declared {f.type}")
        cols = {k: table.column(k).to_numpy() for k in INDEX_FEATURES}
        offset = 0
        for ep in eps:
            n = ep["length"]
            sl = slice(offset, offset + n)
            if not (np.all(cols["episode_index"][sl] == ep["episode_index"])
                    and np.array_equal(cols["frame_index"][sl], np.arange(n))
                    and np.array_equal(cols["index"][sl], np.arange(ep["dataset_from_index"], ep["dataset_to_index"]))
                    and np.allclose(cols["timestamp"][sl], np.arange(n) / fps, atol=1e-4)):
                raise DatasetError(f"{path.name}: episode {ep['episode_index']} rows have wrong episode/frame/row indices "
                                   "or timestamps")
            offset += n
        if offset != table.num_rows:
            raise DatasetError(f"{path.name}: {table.num_rows} rows, its episodes account for {offset}")
    for key in (k for k, ft in features.items() if ft["dtype"] == "video"):
        files: dict[tuple[int, int], int] = {}
        for ep in episodes:
            where = (ep[f"videos/{key}/chunk_index"], ep[f"videos/{key}/file_index"])
            start, end = round(ep[f"videos/{key}/from_timestamp"] * fps), round(ep[f"videos/{key}/to_timestamp"] * fps)
            if start != files.get(where, 0) or end - start != ep["length"]:
                raise DatasetError(f"{key}: episode {ep['episode_index']} covers video frames [{start}, {end}) of "
                                   f"file {where}, expected to start at {files.get(where, 0)} with {ep['length']} frames")
            files[where] = end
        for (chunk, file), frames in files.items():
            path = root / info["video_path"].format(video_key=key, chunk_index=chunk, file_index=file)
            if (found := _video_frames(path)) != frames:
                raise DatasetError(f"{path}: {found} video frames, its episodes account for {frames}")
    if not os.path.isfile(root / STATS_PATH):
        raise DatasetError("meta/stats.json is missing")
