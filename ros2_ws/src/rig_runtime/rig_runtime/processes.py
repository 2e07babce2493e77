"""Node processes: started so that they die with their parent, stopped like Ctrl-C stops them (with their
stacks asked for when they hang), and their exit codes described as people read them."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import time


def _load_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the forked child must not import or load
    except (OSError, AttributeError):  # not Linux
        return None


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """`preexec_fn` for node processes: the kernel sends SIGTERM (a clean node shutdown) when the process that
    started them dies, however it dies, so a killed bringup or graph_run never leaves nodes running."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


STACK_DUMP_SIGNAL = signal.SIGUSR1  # run_node makes every node print all its threads' stacks on this
TEARDOWN_ALARM = signal.SIGALRM  # a node that ends by this closed cleanly; only its rclpy/DDS teardown hung
CLEAN_EXITS = (0, -signal.SIGINT, -TEARDOWN_ALARM)


def stop_processes(procs: dict[str, subprocess.Popen], grace: float, tag: str) -> dict[str, int]:
    """Stop node processes like Ctrl-C does: SIGINT to all, then wait up to `grace` s in total. A node still
    running then is asked for its threads' stacks (to its log: where it hung) and killed. Returns exit codes."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace
    codes = {}
    for name, proc in procs.items():
        try:
            codes[name] = proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"[{tag}] {name} did not stop in {grace:.0f} s: its stacks follow in its log, then it is killed",
                  flush=True)
            proc.send_signal(STACK_DUMP_SIGNAL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(2.0)
            proc.kill()
            codes[name] = proc.wait()
        if codes[name] not in CLEAN_EXITS:
            print(f"[{tag}] {name} exited with code {describe_exit(codes[name])}", flush=True)
    return codes


def describe_exit(code: int) -> str:
    """An exit code as people read it: 1, or -11 (SIGSEGV)."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"{code} ({signal.Signals(-code).name})"
    return str(code)
