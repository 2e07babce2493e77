"""Bring a graph up with every node in its own process (the project's stand-in for `ros2 launch`).

    python -m rig_bringup.bringup launch/sim_pusher.yaml [--set node.param=value ...] [--only a,b] [--skip c] [--arms N]

With --arms N every node but the trainer runs once per arm in namespace /armK with its own topics, and the
one trainer learns from all of them (rig_runtime.arms); an arm whose nodes die leaves the others running.

Ctrl-C (or SIGTERM) is forwarded to every node as SIGINT; nodes that do not stop within
--grace seconds are killed. A node that exits is reported, and restarted if its entry says respawn.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rig_runtime.arms import expand_arms
from rig_runtime.graph import Graph, NodeSpec, load_graph, node_command, parse_overrides
from rig_runtime.processes import CLEAN_EXITS, describe_exit, die_with_parent, stop_processes


def _pump(name: str, stream) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"[{name}] {line.decode(errors='replace')}")
        sys.stdout.flush()


class Bringup:
    def __init__(self, graph: Graph, scratch: Path) -> None:
        self.graph, self.scratch = graph, scratch
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self, spec: NodeSpec) -> None:
        cmd = node_command(spec, self.graph, self.scratch)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=die_with_parent)
        self.procs[spec.full_name] = proc
        threading.Thread(target=_pump, args=(spec.full_name, proc.stdout), daemon=True).start()
        print(f"[bringup] started {spec.full_name} (pid {proc.pid}): {' '.join(cmd)}", flush=True)

    def run(self, specs: list[NodeSpec], grace: float) -> int:
        for spec in specs:
            self.start(spec)
        by_name = {s.full_name: s for s in specs}
        while not self.stopping:
            for name, proc in list(self.procs.items()):
                code = proc.poll()
                if code is not None and not self.stopping:
                    print(f"[bringup] {name} exited with code {describe_exit(code)}", flush=True)
                    del self.procs[name]
                    if by_name[name].respawn:
                        time.sleep(1.0)
                        self.start(by_name[name])
            if not self.procs:
                return 1
            time.sleep(0.1)
        return self.shutdown(grace)

    def shutdown(self, grace: float) -> int:
        codes = stop_processes(self.procs, grace, "bringup")
        print("[bringup] all nodes stopped", flush=True)
        return next((code for code in codes.values() if code not in CLEAN_EXITS), 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graph", help="graph file, e.g. launch/sim_pusher.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE", help="parameter override")
    parser.add_argument("--only", default="", help="comma-separated node names to start (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated node names not to start")
    parser.add_argument("--arms", type=int, default=1, help="arms on this domain, each under /armK, one trainer")
    parser.add_argument("--grace", type=float, default=15.0, help="seconds nodes get to stop after Ctrl-C")
    args = parser.parse_args(argv)
    graph = expand_arms(load_graph(args.graph, parse_overrides(args.set)), args.arms)
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    for name in only | skip:
        graph.node(name)  # unknown names are an error
    specs = [s for s in graph.nodes if (not only or {s.name, s.full_name} & only) and not {s.name, s.full_name} & skip]
    with tempfile.TemporaryDirectory(prefix="rig-bringup-") as scratch:
        bringup = Bringup(graph, Path(scratch))

        def stop(*_: object) -> None:
            bringup.stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        return bringup.run(specs, args.grace)


if __name__ == "__main__":
    sys.exit(main())
