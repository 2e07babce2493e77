"""How node processes stop (every node runs on rig_runtime.node_runner.run_node, sim_node included): SIGINT
and SIGTERM end a node with exit 0; SIGUSR1 prints its stacks and it keeps running; a teardown that hangs
after the node closed ends by the teardown alarm with its stacks printed; stop_processes asks a node that
ignores SIGINT for its stacks, then kills it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from conftest import ROS_ENV

from rig_runtime.processes import CLEAN_EXITS, stop_processes

RUN_SCRIPTED_TELEOP = [sys.executable, "-m", "rig_policy.scripted_teleop_node"]
RUN_SIM = [sys.executable, "-m", "sawyer_sim.sim_node", "--ros-args", "-p", "env:=reacher", "-p", "mode:=realtime"]


def _start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("node", ["scripted_teleop_node", "sim_node"])
def test_a_node_stops_cleanly_on_sigint_and_sigterm(ros_env, probe, node, signum):
    from geometry_msgs.msg import PoseStamped, TwistStamped

    cmd, topic, msg_type = {"scripted_teleop_node": (RUN_SCRIPTED_TELEOP, "/teleop/twist", TwistStamped),
                            "sim_node": (RUN_SIM, "/robot/ee_pose", PoseStamped)}[node]
    probe.listen(topic, msg_type)
    proc = _start(cmd, ros_env)
    try:
        probe.wait_count(topic, 3, timeout=60)  # up and spinning
        t0 = time.monotonic()
        proc.send_signal(signum)
        code = proc.wait(10)
        assert code == 0, f"exit code {code}:\n{proc.stdout.read()[-3000:]}"
        print(f"{node} stopped {time.monotonic() - t0:.2f} s after {signal.Signals(signum).name}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_executor_is_chosen_by_rig_executor(ros_env, probe):
    """RIG_EXECUTOR=single runs a node on SingleThreadedExecutor (the default is the EventsExecutor, which every
    other test here uses); an unknown name ends the node with one line."""
    from geometry_msgs.msg import PoseStamped

    probe.listen("/robot/ee_pose", PoseStamped)
    proc = _start(RUN_SIM, {**ros_env, "RIG_EXECUTOR": "single"})
    try:
        probe.wait_count("/robot/ee_pose", 3, timeout=60)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0, proc.stdout.read()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    bad = subprocess.run(RUN_SIM, env={**ros_env, "RIG_EXECUTOR": "fast"}, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "[fatal] RIG_EXECUTOR must be one of events, single, got 'fast'" in bad.stdout, bad.stdout + bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr


@pytest.mark.parametrize("node", ["scripted_teleop_node", "sim_node"])
def test_sigusr1_prints_the_stacks_and_the_node_keeps_running(ros_env, probe, node):
    from geometry_msgs.msg import PoseStamped, TwistStamped

    cmd, topic, msg_type, source = {
        "scripted_teleop_node": (RUN_SCRIPTED_TELEOP, "/teleop/twist", TwistStamped, "scripted_teleop_node.py"),
        "sim_node": (RUN_SIM, "/robot/ee_pose", PoseStamped, "node_runner.py")}[node]
    probe.listen(topic, msg_type)
    proc = _start(cmd, ros_env)
    try:
        probe.wait_count(topic, 3, timeout=60)
        proc.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        count = len(probe.messages(topic))
        probe.wait_count(topic, count + 3, timeout=10)  # still publishing
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0, out[-3000:]
        assert "most recent call first" in out and source in out, out[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


HUNG_TEARDOWN = """
import time
from rig_runtime.node_runner import arm_teardown_alarm
arm_teardown_alarm(0.5)
time.sleep(30)  # stands in for a destroy_node stuck in DDS
"""


def test_a_hung_teardown_ends_by_the_alarm_with_its_stacks():
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", HUNG_TEARDOWN], env=ROS_ENV, capture_output=True, text=True,
                         timeout=20)
    assert out.returncode == -signal.SIGALRM and out.returncode in CLEAN_EXITS
    assert time.monotonic() - t0 < 10
    assert "most recent call first" in out.stderr and "<string>" in out.stderr, out.stderr


def test_stop_processes_dumps_the_stacks_of_a_node_that_ignores_sigint_then_kills_it(tmp_path, capsys):
    stubborn = ("import faulthandler, signal, time; faulthandler.register(signal.SIGUSR1, all_threads=True); "
                "signal.signal(signal.SIGINT, signal.SIG_IGN); print('up', flush=True); time.sleep(60)")
    # A node that stops on SIGINT; explicit, since a shell that starts jobs in the background without job control
    # hands its children SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
    polite = ("import signal, time; signal.signal(signal.SIGINT, signal.default_int_handler); print('up', flush=True); "
              "time.sleep(60)")
    log, polite_log = tmp_path / "stubborn.log", tmp_path / "polite.log"
    with open(log, "w") as out, open(polite_log, "w") as polite_out:
        procs = {"stubborn": subprocess.Popen([sys.executable, "-c", stubborn], stdout=out, stderr=subprocess.STDOUT),
                 "polite": subprocess.Popen([sys.executable, "-c", polite], stdout=polite_out, stderr=subprocess.STDOUT)}
        deadline = time.monotonic() + 20  # both interpreters up (under load one can take seconds to start)
        while not ("up" in log.read_text() and "up" in polite_log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        codes = stop_processes(procs, grace=1.0, tag="test")
    assert codes == {"stubborn": -signal.SIGKILL, "polite": -signal.SIGINT}
    assert "stubborn did not stop in 1 s" in capsys.readouterr().out
    assert "most recent call first" in log.read_text()
