"""Start node programs as separate processes and stop them like Ctrl-C does."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from rig_runtime.processes import die_with_parent


class NodeProcess:
    """A child process with its output in a log file; `stop()` sends SIGINT, then kills."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    @classmethod
    def python(cls, script: Path | str, args: list[str], env: dict[str, str], log: Path) -> NodeProcess:
        return cls([sys.executable, str(script), *args], env, log)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
