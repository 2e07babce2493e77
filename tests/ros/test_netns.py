"""The learner on another host: the trainer in one Linux network namespace, the lock-step Visual Reacher arm graph
(sim, encoder, policy, episode node) in another, joined only by a veth pair; plain UDP (Fast DDS profile with
shared memory off, rig_runtime.dds_profile). Experience crosses to the trainer, which pre-trains the VAE and
trains TD3 on it, and its weights cross back: the policy acts on them. Runs as root with `ip netns`, else skips."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from netns import HostPair, unavailable, write_profile
from nodeproc import NodeProcess

from rig_runtime.dds_profile import PROFILE_ENV
from rig_runtime.graph import load_graph, node_command

WHY = unavailable()
pytestmark = pytest.mark.skipif(WHY is not None, reason=f"network namespaces unavailable: {WHY}")

LEARNER, ROBOT = 0, 1
IMAGE_BYTES = 48 * 48 * 3


def test_trainer_and_arm_graph_on_two_hosts_over_udp(ros_env, tmp_path):
    overrides = {"episode_node": {"horizon": 20},
                 "trainer_node": {"exploration_steps": 60, "vae_pretrain_batches": 30, "updates_per_step": 1.0,
                                  "publish_every": 20, "replay_capacity": 2000, "checkpoint_dir": "",
                                  "use_sim_time": False}}  # wall-clock weight stamps: the latency below
    graph = load_graph(ROOT / "launch" / "sim_reacher_lockstep.yaml", overrides)
    hosts = HostPair(f"rig{os.getpid() % 10000}", subnet=os.getpid() % 250)
    procs: dict[str, NodeProcess] = {}
    try:
        env = {}
        for host, peer in ((LEARNER, ROBOT), (ROBOT, LEARNER)):
            profile = write_profile(tmp_path / f"fastdds_{host}.xml", hosts.addresses[peer])
            env[host] = {**ros_env, **PROFILE_ENV, "FASTDDS_DEFAULT_PROFILES_FILE": str(profile)}
        rx_before = hosts.rx_bytes(LEARNER)
        for spec in graph.nodes:
            host = LEARNER if spec.name == "trainer_node" else ROBOT
            cmd = hosts.prefix(host) + node_command(spec, graph, tmp_path / "params")
            procs[spec.name] = NodeProcess(cmd, env[host], tmp_path / f"{spec.name}.log")
        out = tmp_path / "probe.json"
        probe_cmd = [sys.executable, str(Path(__file__).with_name("netns_probe.py")), "--out", str(out),
                     "--want-version", "3", "--timeout", "150"]
        probe = NodeProcess([*hosts.prefix(ROBOT), *probe_cmd], env[ROBOT], tmp_path / "probe.log")
        probe.proc.wait(timeout=200)
        assert out.is_file(), probe.output()[-2000:]
        result = json.loads(out.read_text())
        rx = hosts.rx_bytes(LEARNER) - rx_before
        latencies = sorted(w["latency_ms"] for w in result["weights"])
        print(f"across the veth link: {result['steps']} experience steps, {result['experience_rate']:.1f} steps/s "
              f"(last 10 s), learner received {rx / 1e6:.1f} MB; {len(latencies)} weights messages of "
              f"{result['weights'][-1]['bytes'] / 1e6:.2f} MB, latency p50 {latencies[len(latencies) // 2]:.1f} ms, "
              f"max {latencies[-1]:.1f} ms; trainer: {result['metrics']}")
        # the policy on the robot acts on weights trained by the learner on the other host...
        assert result["max_policy_version"] >= 3 and result["metrics"]["vae_version"] >= 1
        assert result["metrics"]["grad_steps"] > 0 and result["metrics"]["env_steps"] >= 60
        # ...and the experience went over the link, not through shared memory: its frames alone are this many bytes
        assert rx > result["metrics"]["env_steps"] * IMAGE_BYTES
        assert all(p.alive() for p in procs.values()), {n: p.output()[-1000:] for n, p in procs.items() if not p.alive()}
    finally:
        codes = {name: proc.stop() for name, proc in procs.items()}
        hosts.close()
    assert all(code == 0 for code in codes.values()), codes
