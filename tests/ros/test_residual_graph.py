"""Residual RL through the lock-step graph (issue 11): the sim hosts the insertion task and publishes the peg tip and
f_z, the episode node takes each goal and controller target x* from the sim's reset answer, the policy acts with
u′ = πH(s) + b · πθ(s) on that state, and the residual trainer learns from the stream. Checked on what the nodes sent:
the first episode (zero-initialised residual, no noise) is the P-controller's; later ones move off it by at most b."""

from __future__ import annotations

import json
import time

import numpy as np
from conftest import start_nodes, start_nodes_heard, stop_all
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from rig_core.residual_rl import KP_AXES, combine, features, p_controller
from rig_core.residual_weights import load_residual_weights
from rig_interfaces.msg import ExperienceStep, Goal, SimState, Weights
from rig_runtime.messages import stamp_ns
from rig_runtime.qos import METRICS_QOS
from sawyer_sim.insertion import MAX_STEP, SOCKET_RANGE

RELIABLE = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
EPISODES, HORIZON, BOUND, ERROR = 4, 30, 0.3, 0.006


def test_residual_policy_and_trainer_through_the_graph(probe, ros_env, tmp_path):
    probe.listen("/policy/experience", ExperienceStep, qos=RELIABLE)
    probe.listen("/episode/goal", Goal, qos=LATCHED)
    probe.listen("/trainer/weights", Weights, qos=LATCHED)
    probe.listen("/sim/state", SimState, qos=RELIABLE)
    config = {"learning_starts": HORIZON, "exploration_sigma": 0.0, "residual_bound": BOUND, "target_error": ERROR}
    overrides = {"sim_node": {"env_kwargs": json.dumps({"target_error": ERROR})},
                 "episode_node": {"num_episodes": EPISODES},
                 "residual_trainer_node": {"config_overrides": json.dumps(config), "save_dir": str(tmp_path / "out"),
                                           "checkpoint_dir": str(tmp_path / "ckpt")}}
    procs = start_nodes_heard("sim_insertion_residual_lockstep.yaml", overrides, ros_env, tmp_path, probe,
                              "residual_trainer_node", ["/episode/goal", "/policy/experience", "/sim/state"])
    try:
        probe.wait_for(lambda: sum(m.is_last for m in probe.messages("/policy/experience")) >= EPISODES, 180,
                       f"{EPISODES} episodes of experience")
    finally:
        codes = stop_all(procs)
    assert all(c == 0 for c in codes.values()), codes

    goals = {g.episode: g for g in probe.messages("/episode/goal")}
    sim = {stamp_ns(m.header.stamp): m for m in probe.messages("/sim/state")}
    steps = probe.messages("/policy/experience")
    kp = np.asarray(KP_AXES)
    moved_off = 0
    zero_checked = 0
    for episode in range(1, EPISODES + 1):
        goal = goals[episode]
        g, target = np.asarray(goal.latent), np.array([goal.target.x, goal.target.y, goal.target.z])
        assert goal.source == "scene" and goal.has_target
        assert SOCKET_RANGE[0][0] <= g[0] <= SOCKET_RANGE[1][0] and SOCKET_RANGE[0][1] <= g[1] <= SOCKET_RANGE[1][1]
        assert np.all(np.abs(target[:2] - g[:2]) <= ERROR + 1e-6) and abs(target[2] - g[2]) < 1e-6  # x* = goal + error
        ep = sorted((s for s in steps if s.episode == episode), key=lambda s: s.t)
        assert [s.t for s in ep] == list(range(HORIZON + 1)), f"episode {episode}: steps {[s.t for s in ep]}"
        for s in ep:
            state = np.asarray(s.state, np.float64)
            truth = sim[stamp_ns(s.header.stamp)]
            np.testing.assert_allclose(state, truth.state, atol=1e-5)  # the tip pose and f_z the sim measured
            np.testing.assert_allclose(g, truth.goal_state, atol=1e-6)
            np.testing.assert_allclose(s.latent, features(state, g, target), atol=1e-4)
            if s.is_last:
                assert len(s.action) == 0 and len(s.residual) == 0
                continue
            controller = p_controller(state[:3], target, kp, MAX_STEP)
            residual, action = np.asarray(s.residual), np.asarray(s.action)
            assert np.all(np.abs(residual) <= 1.0)
            np.testing.assert_allclose(action, combine(controller, residual, BOUND), atol=1e-5)
            assert np.all(np.abs(action - controller) <= BOUND + 1e-5)  # the bound b holds
            if s.policy_version == 1:  # the zero-initialised residual: exactly the P-controller
                np.testing.assert_array_equal(residual, 0.0)
                zero_checked += 1
            else:
                moved_off += int(np.any(np.abs(residual) > 1e-4))
    assert moved_off > 0, "no step ran a trained residual"
    assert zero_checked >= HORIZON, zero_checked  # the first episode ran whole on the zero-initialised residual
    weights = load_residual_weights((tmp_path / "out" / "residual_weights.safetensors").read_bytes())
    assert weights.env_steps == EPISODES * HORIZON and weights.config.residual_bound == BOUND
    last_version = max(m.version for m in probe.messages("/trainer/weights"))
    assert last_version >= EPISODES
    # A restarted trainer resumes from its checkpoint: every transition, and the weights' version goes on from there.
    from std_msgs.msg import String

    probe.listen("/trainer/metrics", String, qos=METRICS_QOS)  # hears what the trainer sent before the match
    procs = start_nodes("sim_insertion_residual_lockstep.yaml", overrides, ros_env, tmp_path / "again",
                        only=["residual_trainer_node"])
    try:
        probe.wait_for(lambda: any(json.loads(m.data)["env_steps"] == EPISODES * HORIZON
                                   for m in probe.messages("/trainer/metrics")), 60, "the resumed trainer's metrics")
    finally:
        codes = stop_all(procs)
    assert all(c == 0 for c in codes.values()), codes
    resumed = [json.loads(m.data) for m in probe.messages("/trainer/metrics")]
    assert min(m["version"] for m in resumed) == last_version + 1


def test_a_held_episode_node_starts_nothing_before_its_first_limit(probe, ros_env, tmp_path):
    """hold_until_told: the trainer's first weights are out but no episode starts before /episode/run_until arrives
    (a runner's latched limit can reach the node after the weights); then it runs to that limit and holds."""
    from std_msgs.msg import String, UInt64

    probe.listen("/policy/experience", ExperienceStep, qos=RELIABLE)
    probe.listen("/trainer/weights", Weights, qos=LATCHED)
    probe.listen("/episode/state", String, qos=LATCHED)
    overrides = {"sim_node": {"env_kwargs": json.dumps({"target_error": ERROR})},
                 "episode_node": {"hold_until_told": True},
                 "residual_trainer_node": {"config_overrides": json.dumps({"learning_starts": HORIZON}),
                                           "save_dir": str(tmp_path / "out"), "checkpoint_dir": str(tmp_path / "ckpt")}}
    procs = start_nodes("sim_insertion_residual_lockstep.yaml", overrides, ros_env, tmp_path)
    try:
        probe.wait_for(lambda: probe.messages("/trainer/weights"), 120, "the trainer's first weights")
        probe.wait_for(lambda: probe.node.count_publishers("/policy/experience") > 0, 60, "the policy's experience")
        time.sleep(3.0)  # without the hold the first episode would be running by now
        assert not probe.messages("/policy/experience")
        limit = probe.node.create_publisher(UInt64, "/episode/run_until", LATCHED)
        limit.publish(UInt64(data=HORIZON))

        def held() -> bool:
            return any(s["state"] == "paused" and s["steps"] >= HORIZON
                       for s in (json.loads(m.data) for m in probe.messages("/episode/state")))

        probe.wait_for(held, 120, "the episode node held at its limit")
        time.sleep(1.0)
    finally:
        codes = stop_all(procs)
    assert all(c == 0 for c in codes.values()), codes
    acted = [s for s in probe.messages("/policy/experience") if len(s.action)]
    assert len(acted) == HORIZON and {s.episode for s in acted} == {1}


def test_residual_graph_run_evaluates_the_deployed_chain_like_the_in_process_run(ros_env, tmp_path, monkeypatch):
    """The runner's held-out episodes through the graph give what rig_core's evaluation gives for the same weights."""
    from rig_bringup import residual_graph_run

    for key, value in ros_env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "run"
    code = residual_graph_run.main(["--steps", "60", "--eval-every", "30", "--eval-episodes", "3", "--out", str(out),
                                    "--error", "0.006", "--domain-id", ros_env["ROS_DOMAIN_ID"]])
    assert code == 0
    result = json.loads((out / "results.json").read_text())
    assert [row["step"] for row in result["curve"]] == [0, 30, 60]
    final, here = result["final_through_graph"], result["curve"][-1]
    assert final["step"] == 60 and len(final["per_episode_success"]) == 3
    assert final["success_rate"] == here["success_rate"]
    assert abs(final["final_distance"] - here["final_distance"]) < 2e-3
    assert (out / "rollouts_graph.png").stat().st_size > 1000
    assert residual_graph_run.main(["--steps", "60", "--out", str(out)]) == 2  # weights/ exists: one line, nothing run


def test_state_policy_on_the_arm_clock_pairs_pose_and_wrench_and_holds_on_bad_force(probe, ros_env, tmp_path):
    """policy_node as on the real arm (timer trigger, wall clock): the driver's pose and intera's wrench come with
    their own stamps; the command is the P-controller's (zero residual) in 3-D, and a NaN or stale force stops it."""
    from geometry_msgs.msg import PoseStamped, TwistStamped, WrenchStamped
    from std_msgs.msg import String

    from rig_core.residual_rl import ResidualRLConfig, make_learner
    from rig_core.residual_weights import residual_bytes

    node = probe.node
    pubs = {"weights": node.create_publisher(Weights, "/trainer/weights", LATCHED),
            "goal": node.create_publisher(Goal, "/episode/goal", LATCHED),
            "pose": node.create_publisher(PoseStamped, "/robot/ee_pose", 10),
            "wrench": node.create_publisher(WrenchStamped, "/robot/wrench", 10)}
    probe.listen("/robot/ee_velocity_cmd", TwistStamped)
    probe.listen("/policy/status", String)
    procs = start_nodes("sim_insertion_residual_lockstep.yaml",
                        {"policy_node": {"trigger": "timer", "use_sim_time": False, "realtime_priority": 0}},
                        ros_env, tmp_path, only=["policy_node"])
    config = ResidualRLConfig(exploration_sigma=0.0)  # the weights' exploration: none, so the command is exact
    pubs["weights"].publish(Weights(kind="residual", version=1, safetensors=residual_bytes(make_learner(config), config, 1)))
    tip, target = np.array([0.0, 0.6, 0.06]), np.array([0.004, 0.598, 0.002])
    goal = Goal(episode=1, horizon=0, source="scene", latent=[0.0, 0.6, 0.002, 0.0], has_target=True)
    goal.target.x, goal.target.y, goal.target.z = (float(v) for v in target)
    goal.header.stamp = node.get_clock().now().to_msg()
    pubs["goal"].publish(goal)
    state = {"f_z": 0.0, "wrench_lag_ns": 30_000_000}

    def feed() -> None:
        now = node.get_clock().now().nanoseconds
        pose = PoseStamped()
        pose.header.stamp.sec, pose.header.stamp.nanosec = divmod(now, 10**9)
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = (float(v) for v in tip)
        wrench = WrenchStamped()
        wrench.header.stamp.sec, wrench.header.stamp.nanosec = divmod(now - state["wrench_lag_ns"], 10**9)
        wrench.wrench.force.z = state["f_z"]
        pubs["wrench"].publish(wrench)
        pubs["pose"].publish(pose)

    node.create_timer(0.05, feed)

    def output_since(t0: int) -> tuple[np.ndarray, set[str]]:
        cmds = np.array([[m.twist.linear.x, m.twist.linear.y, m.twist.linear.z] for m in probe.messages("/robot/ee_velocity_cmd")
                         if stamp_ns(m.header.stamp) > t0]).reshape(-1, 3)
        reasons = {s["reason"] for s in map(json.loads, (m.data for m in probe.messages("/policy/status"))) if s["tick_ns"] > t0}
        return cmds, reasons

    def window(seconds: float) -> tuple[np.ndarray, set[str]]:
        t0 = node.get_clock().now().nanoseconds
        time.sleep(seconds)
        t1 = node.get_clock().now().nanoseconds
        probe.wait_for(lambda: len(output_since(t1)[0]) > 0, 20, "the policy's output")
        cmds, reasons = output_since(t0)
        return cmds[: max(1, len(cmds) - 1)], reasons

    try:
        probe.wait_for(lambda: any(json.loads(m.data)["reason"] == "" for m in probe.messages("/policy/status")), 30,
                       "the policy to act")
        cmds, reasons = window(1.0)
        expected = combine(p_controller(tip, target, np.asarray(KP_AXES), MAX_STEP), np.zeros(3), 1.0) * 0.1  # m/s
        moving = cmds[np.any(cmds != 0, axis=1)]
        assert len(moving) >= 5, (cmds, reasons)
        np.testing.assert_allclose(moving, np.tile(expected, (len(moving), 1)), atol=1e-6)
        assert expected[2] < 0  # down toward the socket: the z axis is commanded
        state["f_z"] = float("nan")
        time.sleep(0.3)
        cmds, reasons = window(1.0)
        assert "non-finite latent or goal" in reasons and np.all(cmds[-3:] == 0.0), (cmds, reasons)  # refused at once
        state["f_z"], state["wrench_lag_ns"] = 0.0, 2_000_000_000  # the force stops coming: stale, then still
        time.sleep(0.5)
        cmds, reasons = window(1.0)
        assert "stale latent" in reasons and np.all(cmds[-3:] == 0.0), (cmds, reasons)
    finally:
        codes = stop_all(procs)
    assert all(c == 0 for c in codes.values()), codes
