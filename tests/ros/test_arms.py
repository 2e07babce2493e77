"""Several arms on one DDS domain feeding one trainer: the graph expands per arm under /armK (own topics,
services, lock-step clock and seed; the learner's topics shared), two lock-step Visual Reacher arms fill one
replay with their arm ids, and killing one arm's nodes stops neither the other arm nor the trainer."""

from __future__ import annotations

import json
import time

from conftest import ROOT
from nodeproc import NodeProcess
from std_msgs.msg import String

from rig_runtime.arms import SHARED_NAMES, expand_arms
from rig_runtime.graph import load_graph, node_command

GRAPH = ROOT / "launch" / "sim_reacher_lockstep.yaml"


def test_graph_expands_per_arm_and_shares_the_learner(tmp_path):
    one = load_graph(GRAPH)
    assert expand_arms(one, 1) is one
    graph = expand_arms(load_graph(GRAPH), 3)
    per_arm = [n.name for n in one.nodes if n.name != "trainer_node"]
    assert sorted(n.full_name for n in graph.nodes) == sorted([f"arm{k}/{n}" for k in range(3) for n in per_arm]
                                                               + ["trainer_node"])
    policy = graph.node("arm2/policy_node")
    cmd = node_command(policy, graph, tmp_path)
    assert "__ns:=/arm2" in cmd and "/perception/latent:=/arm2/perception/latent" in cmd and "/clock:=/arm2/clock" in cmd
    assert not any(arg.startswith(("/trainer/", "/estop")) for arg in cmd)  # shared: one weights stream
    seeds = [p["seed"] for n in graph.nodes if n.name == "episode_node" for p in n.parameters if "seed" in p]
    assert seeds == [0, 1, 2]
    trainer = graph.node("trainer_node")
    topics = trainer.parameters[-1]["experience_topics"].split(",")
    assert topics == ["/arm0/policy/experience", "/arm1/policy/experience", "/arm2/policy/experience"]


def test_two_arms_feed_one_trainer_and_losing_one_stops_nothing_else(probe, ros_env, tmp_path):
    overrides = {"episode_node": {"horizon": 10},
                 "trainer_node": {"exploration_steps": 10**6, "replay_capacity": 5000, "checkpoint_dir": ""}}
    graph = expand_arms(load_graph(GRAPH, overrides), 2)
    probe.listen("/trainer/metrics", String)

    def arm_steps() -> list[int]:
        metrics = [json.loads(m.data) for m in probe.messages("/trainer/metrics")]
        return next((m["arm_env_steps"] for m in reversed(metrics) if "arm_env_steps" in m), [0, 0])

    procs = {spec.full_name: NodeProcess(node_command(spec, graph, tmp_path / "params"), ros_env,
                                         tmp_path / f"{spec.full_name.replace('/', '.')}.log") for spec in graph.nodes}
    t0 = time.monotonic()
    try:
        probe.wait_for(lambda: max(arm_steps()) > 0, 150, "the first experience in the trainer")
        print(f"first experience in the trainer after {time.monotonic() - t0:.1f} s")
        probe.wait_for(lambda: min(arm_steps()) >= 20, 60, "both arms' experience in the trainer (2 episodes each)")
        topics = {name for name, _ in probe.node.get_topic_names_and_types()}
        own = {t for t in topics if t.startswith(("/arm0/", "/arm1/"))}
        assert {"/arm0/policy/experience", "/arm1/policy/experience", "/arm0/clock", "/arm1/clock"} <= own
        assert topics - own <= set(SHARED_NAMES) | {"/rosout", "/parameter_events"}, topics - own  # nothing leaks

        for name in [n for n in procs if n.startswith("arm0/")]:
            procs[name].kill()
        before = arm_steps()
        print(f"arm0 killed after {time.monotonic() - t0:.1f} s")
        probe.wait_for(lambda: arm_steps()[1] >= before[1] + 30, 60, "arm1's experience after arm0 was killed")
        after = arm_steps()
        print(f"arm1 went on: {time.monotonic() - t0:.1f} s")
        print(f"arm env steps in the trainer: {before} when arm0 was killed, {after} later")
        assert after[0] <= before[0] + 11  # at most the episode arm0 had on the wire
        assert all(p.alive() for n, p in procs.items() if not n.startswith("arm0/")), "a node of arm1 or the trainer died"
    finally:
        codes = {name: proc.stop() for name, proc in procs.items() if proc.alive()}
    unclean = {name: code for name, code in codes.items() if code != 0}
    assert not unclean, {name: procs[name].output()[-1500:] for name in unclean}
