"""The torch device a learner trains on: "cpu" (default), "cuda" (= "cuda:0") or "cuda:N", checked once.

Every entry point (`rig run/eval`, trainer_node, offline_train, the benchmarks) parses its device option here,
so a malformed string, or CUDA asked for where there is none, is one DeviceError line before any work starts.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from rig_core.errors import DeviceError

DEVICE_CHOICES = "cpu, cuda, cuda:N"
DEVICE_HELP = f"torch device the networks train and run on: {DEVICE_CHOICES} (default: cpu)"
_CUDA = re.compile(r"cuda(?::(\d+))?")


def parse_device(spec: str | torch.device | None = "cpu") -> torch.device:
    """`spec` as a torch.device that exists on this machine, or DeviceError saying why not.

    Strings: "cpu", "cuda" (the first visible GPU, cuda:0) or "cuda:N" (case and surrounding spaces ignored).
    A torch.device of another type (e.g. "meta", for shape-only tests) is returned as given.
    """
    if spec is None:
        return torch.device("cpu")
    if isinstance(spec, torch.device):
        if spec.type not in ("cpu", "cuda"):
            return spec
        spec = str(spec)
    text = str(spec).strip().lower()
    if text == "cpu":
        return torch.device("cpu")
    match = _CUDA.fullmatch(text)
    if match is None:
        raise DeviceError(f"device {spec!r} is not one of {DEVICE_CHOICES}")
    if not torch.cuda.is_available():
        build = "this torch build is CPU-only" if torch.version.cuda is None else "no CUDA GPU is visible to torch"
        raise DeviceError(f"device {spec!r}: CUDA is not available ({build}, torch {torch.__version__}); use cpu")
    index = int(match.group(1) or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(f"device {spec!r}: there is no CUDA device {index} "
                          f"({count} visible: {', '.join(f'cuda:{i}' for i in range(count))})")
    return torch.device("cuda", index)


def device_or_exit(spec: str, prog: str) -> torch.device:
    """parse_device for a script's command line: a DeviceError is printed as one line `prog: error: …`, exit 2."""
    try:
        return parse_device(spec)
    except DeviceError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of a module's first parameter (CPU for a module without any)."""
    return next((p.device for p in module.parameters()), torch.device("cpu"))


def describe_device(device: torch.device) -> str:
    """One line naming the device, for benchmark output: its type and index, the GPU's name or the CPU threads."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda}, torch {torch.__version__})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} torch threads, torch {torch.__version__})"
    return str(device)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously), so a timer measures it; no-op on CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch intra-op threads (n < 1: unchanged), then restore the count."""
    before = torch.get_num_threads()
    if n >= 1:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
