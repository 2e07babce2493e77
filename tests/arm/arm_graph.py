"""A ROS 1 graph for arm tests: a real rosmaster on a free port, the MuJoCo twin, the driver and the probe, each
its own process on .venv-ros1 (never this pytest process: ROS 1 and ROS 2 cannot share one)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from ros1_env import ROOT, ROS1_PYTHON, ROSMASTER, free_port, ros1_env

HERE = Path(__file__).resolve().parent


def _raise_priority() -> None:
    with contextlib.suppress(OSError):  # not permitted (not root): the normal priority
        os.nice(-10)


class Ros1Graph:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.env = ros1_env(self.port, log_dir / "ros")
        self.procs: dict[str, subprocess.Popen] = {}
        self.start("master", [str(ROSMASTER), "--core", "-p", str(self.port)])
        self._probe: subprocess.Popen | None = None
        deadline = time.monotonic() + 20.0
        while not self.master_listening():
            if time.monotonic() > deadline:
                raise RuntimeError(f"rosmaster did not start: {self.log('master')[-2000:]}")
            time.sleep(0.05)

    def master_listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def start(self, name: str, argv: list[str], env: dict | None = None, realtime: bool = False) -> subprocess.Popen:
        """``realtime``: a 100 Hz loop (twin, driver), run at a higher priority where allowed, as on a robot's PC."""
        out = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env or self.env, cwd=ROOT,
                                stdin=subprocess.DEVNULL, preexec_fn=_raise_priority if realtime else None)
        self.procs[name] = proc
        return proc

    def node(self, name: str, module: str, *args: str) -> subprocess.Popen:
        return self.start(name, [str(ROS1_PYTHON), "-m", module, f"__name:={name}", *args], realtime=True)

    def run(self, module: str, *args: str, env: dict | None = None, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Run a ROS 1 program to its end (bad-input checks), stdout and stderr apart."""
        return subprocess.run([str(ROS1_PYTHON), "-m", module, *args], capture_output=True, text=True, timeout=timeout,
                              env=env or self.env, cwd=ROOT, stdin=subprocess.DEVNULL)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()

    # ----- the probe -----
    def probe(self, op: str, **kw) -> dict:
        if self._probe is None:
            self._probe = subprocess.Popen([str(ROS1_PYTHON), str(HERE / "arm_probe.py")], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=open(self.log_dir / "probe.log", "w"),  # noqa: SIM115
                                           env=self.env, cwd=ROOT, text=True, preexec_fn=_raise_priority)
            first = self._probe.stdout.readline()
            while first.startswith("Unable to register with master"):  # rospy says so on stdout while it retries
                first = self._probe.stdout.readline()
            if not first.startswith("{"):
                raise RuntimeError(f"probe did not start ({first!r}): {self.log('probe')[-2000:]}")
        self._probe.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self._probe.stdin.flush()
        line = self._probe.stdout.readline()
        if not line:
            raise RuntimeError(f"probe died: {self.log('probe')[-2000:]}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def signal(self, name: str, sig: int) -> None:
        self.procs[name].send_signal(sig)

    def close(self) -> None:
        if self._probe is not None and self._probe.poll() is None:
            try:
                self._probe.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self._probe.stdin.close()
                self._probe.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._probe.kill()
        for name, proc in reversed(list(self.procs.items())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGINT if name != "master" else signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
