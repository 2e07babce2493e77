"""The node main loop every rig-ros2 node runs on: rclpy.init → spin → close → teardown, stopped by
SIGINT/SIGTERM through a flag (never mid-callback), with a teardown alarm and stack dumps for a node that hangs."""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
from collections.abc import Callable

import rclpy
from rclpy.context import Context
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from rig_runtime.processes import STACK_DUMP_SIGNAL, TEARDOWN_ALARM


def spin_in_background(executor: Executor, context: Context) -> threading.Thread:
    """Spin `executor` in a daemon thread until `context` shuts down (for in-process watchers and probes)."""

    def spin() -> None:
        while context.ok():
            try:
                executor.spin_once(timeout_sec=0.05)
            except Exception:  # shutdown races end the loop; anything else is a real error
                if not context.ok():
                    return
                raise

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    return thread


TEARDOWN_LIMIT_S = 5.0
EXECUTORS = ("events", "single")


def make_executor(kind: str | None = None, context: Context | None = None) -> Executor:
    """The node's executor: rclpy's EventsExecutor (C++ event queue, default) or SingleThreadedExecutor, which
    rebuilds its wait set in Python on every spin. `RIG_EXECUTOR` chooses when `kind` is not given."""
    kind = kind or os.environ.get("RIG_EXECUTOR", "events")
    if kind not in EXECUTORS:
        raise RuntimeError(f"RIG_EXECUTOR must be one of {', '.join(EXECUTORS)}, got {kind!r}")
    if kind == "events":
        from rclpy.experimental import EventsExecutor

        return EventsExecutor(context=context)
    return SingleThreadedExecutor(context=context)


def arm_teardown_alarm(limit: float = TEARDOWN_LIMIT_S) -> None:
    """Call once the node has closed (commands zeroed, checkpoints written): if destroying the node and the
    context then takes longer than `limit`, print every thread's stack and end the process by TEARDOWN_ALARM.
    Both work without the GIL, which a native call stuck in DDS may hold."""
    faulthandler.dump_traceback_later(limit, exit=False)
    signal.signal(TEARDOWN_ALARM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, limit + 0.5)


def disarm_teardown_alarm() -> None:
    """The teardown finished: the interpreter's own exit (slow under load with torch loaded) is not a hang."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    faulthandler.cancel_dump_traceback_later()


def run_node(factory: Callable[[], Node], args: list[str] | None = None) -> None:
    """rclpy.init → spin → clean shutdown on Ctrl-C / SIGINT / SIGTERM; a startup error exits 1 with its message.

    The signals only set a flag that the spin loop checks between callbacks (at least every 0.1 s), so a
    callback is never cut in half and the node is torn down by this thread alone. rclpy's own handler shuts the
    context down from a second thread while this one destroys the node: the likely cause of a node stuck in
    `destroy_node` (about 1 graph stop in 150). A teardown that still hangs ends the process (see
    arm_teardown_alarm). STACK_DUMP_SIGNAL (SIGUSR1) prints every thread's stack to stderr."""
    faulthandler.enable()  # a crash (SIGSEGV, SIGABRT, ...) prints the Python stacks before the process dies
    faulthandler.register(STACK_DUMP_SIGNAL, all_threads=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    try:
        executor = make_executor()
    except RuntimeError as err:
        print(f"[fatal] {err}", flush=True)
        rclpy.try_shutdown()
        raise SystemExit(1) from None
    node = None
    try:
        node = factory()
        executor.add_node(node)
        while not stop.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
    except ExternalShutdownException:
        pass
    except RuntimeError as err:
        print(f"[fatal] {err}", flush=True)
        raise SystemExit(1) from None
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                close()
            arm_teardown_alarm()
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
        disarm_teardown_alarm()
