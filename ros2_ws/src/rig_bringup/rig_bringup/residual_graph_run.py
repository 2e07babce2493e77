"""Residual RL on the insertion task through the ROS graph in lock-step (issue 11, thesis ch. 8–9), against the
in-process run of the same config (`rig_core.residual_rl.run_residual_rl`, `rig run --env insertion --residual`).

    source scripts/ros_env.sh
    python -m rig_bringup.residual_graph_run --method residual --steps 2000 --seed 0 --out runs/graph-insertion

Every node of launch/sim_insertion_residual_lockstep.yaml runs as its own process (sim, policy, episode, residual
trainer); this process only watches and evaluates. Every `eval_every` env steps the episodes are held and the weights
the trainer published are evaluated in this process on the same held-out episodes as the in-process run (seeds
eval_seed + i, deterministic policy); at the end the same episodes also run through the graph: the sim is reset with
each seed, the goal and x* it answers go out as an "eval" goal, and success is read from the sim's ground truth
(/sim/state) at the episode's last observation. results.json holds both, with the rollout frames around contact.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from std_msgs.msg import UInt64

from rig_bringup.graph_run import EVAL_EPISODE_BASE, GraphError, GraphRun
from rig_core.errors import RigError
from rig_core.residual_report import strips_figure
from rig_core.residual_rl import ResidualRLConfig, evaluate_policy, make_env
from rig_core.residual_weights import ResidualWeights, load_residual_weights
from rig_interfaces.msg import Goal
from rig_interfaces.srv import Reset
from rig_runtime.graph import graph_file, load_graph

GRAPH_FILE = "sim_insertion_residual_lockstep.yaml"
METHODS = {"residual": {"kp": 1.0, "residual_bound": 1.0}, "rl": {"kp": 0.0, "residual_bound": 1.0},
           "residual_sac": {"kp": 1.0, "residual_bound": 1.0, "algo": "sac"},
           "rl_sac": {"kp": 0.0, "residual_bound": 1.0, "algo": "sac"}}  # as benchmarks/bench_residual.py
HORIZON = 30  # sawyer_sim insertion's episode length
STRIP_STEPS = 10  # frames per strip row: the last steps of an episode


def node_overrides(config: ResidualRLConfig, out: Path) -> dict[str, dict[str, Any]]:
    """Parameters that make the graph run `config`: the trainer gets the whole config as JSON."""
    trainer = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("eval_every", "eval_episodes")}
    return {"sim_node": {"seed": config.seed, "env_kwargs": json.dumps({"target_error": config.target_error})},
            "policy_node": {"seed": config.seed},
            "episode_node": {"seed": config.seed, "horizon": HORIZON, "hold_until_told": True},
            "residual_trainer_node": {"seed": config.seed, "config_overrides": json.dumps(trainer),
                                      "save_dir": str(out / "weights")}}


def evaluate_through_graph(job: GraphRun, weights: ResidualWeights, episodes: int, seed: int,
                           strips: int = 3) -> dict[str, Any]:
    """The held-out episodes (seeds seed … seed + episodes − 1) through the graph: success and final distance from
    /sim/state, frames of the first `strips` episodes."""
    time.sleep(0.5)  # the policy loads the weights the trainer published
    success, distance, frames_out = [], [], []
    for i in range(episodes):
        def goal_for(answer: Reset.Response, episode: int) -> Goal:
            if not len(answer.goal_state):
                raise GraphError("the evaluation reset answered with no goal state")
            return Goal(episode=episode, horizon=job.horizon, source="eval", latent=list(answer.goal_state),
                        vae_version=weights.version, has_target=answer.has_target, target=answer.target)

        sim, frames = job.eval_episode_through_graph(Reset.Request(seed=seed + i), goal_for,
                                                     f"evaluation episode {i + 1}/{episodes}")
        info = dict(zip(sim.distance_names, sim.distances, strict=True))
        success.append(float(info["is_success"]))
        distance.append(float(info["ee_distance"]))
        if i < strips:  # the episode's last STRIP_STEPS frames, where the peg meets the socket
            last = len(frames) - STRIP_STEPS
            frames_out.append({"episode": i, "policy": "through the graph", "success": bool(info["is_success"]),
                               "frames": np.stack(frames[-STRIP_STEPS:]), "steps": list(range(max(last, 0), len(frames)))})
    job.watcher.stop_watching_evaluation()
    return {"success_rate": float(np.mean(success)), "final_distance": float(np.mean(distance)),
            "per_episode_success": success, "frames": frames_out}


def run(config: ResidualRLConfig, out: Path, domain_id: int, timeout: float, command: str) -> dict[str, Any]:
    config = config.validate()
    if (out / "weights").exists():
        raise GraphError(f"{out / 'weights'} exists: choose a new --out")
    out.mkdir(parents=True, exist_ok=True)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evaluation")
    local_env = pool.submit(make_env, config).result()
    graph = load_graph(graph_file(GRAPH_FILE), node_overrides(config, out))
    wall_start = time.monotonic()
    job = GraphRun(graph, out, HORIZON, domain_id, timeout, config.eval_seed, needs_vae=False)
    job.eval_episode = EVAL_EPISODE_BASE
    pending = []
    curve: list[dict[str, Any]] = []

    def evaluate_later(step: int) -> ResidualWeights:
        weights = load_residual_weights(bytes(job.watcher.weights.safetensors))
        policy = weights.policy(local_env.max_step)
        pending.append((step, weights, pool.submit(evaluate_policy, local_env, policy, config.eval_episodes,
                                                   config.eval_seed)))
        return weights

    try:
        job.start()
        # Hold the episodes at the first evaluation point from the start (latched): they begin as soon as the weights
        # are out, and without a limit they would run past it while this process waits for those weights.
        job.watcher.run_until_pubs[0].publish(UInt64(data=min(config.eval_every, config.total_steps) or 1))
        job.wait(lambda: job.watcher.weights is not None, "the trainer's first weights")
        weights = evaluate_later(0)  # the zero-initialised residual: the P-controller alone (kp = 0: the zero action)
        step = 0
        while step < config.total_steps:
            step = min(config.total_steps, (step // config.eval_every + 1) * config.eval_every)
            _, step = job.run_until(step)
            weights = evaluate_later(step)
            print(f"[residual_graph_run] {step} env steps through the graph ({time.monotonic() - wall_start:.0f} s)",
                  flush=True)
        practice_s = time.monotonic() - wall_start
        graph_eval = evaluate_through_graph(job, weights, config.eval_episodes, config.eval_seed)
    finally:
        job.stop()
        pool.submit(local_env.close)
        pool.shutdown(wait=True)
    for at, weights, future in pending:
        row = {"step": at, "weights_version": weights.version, **future.result()}
        curve.append(row)
        print(f"[residual_graph_run] step {at} (weights {weights.version}, {weights.env_steps} transitions): "
              f"success {row['success_rate']:.2f}, final distance {row['final_distance'] * 1000:.1f} mm", flush=True)
    frames = graph_eval.pop("frames")
    if frames:
        strips_figure(frames, out / "rollouts_graph.png", "Through the graph: the last steps of held-out episodes")
    result = {"config": dataclasses.asdict(config), "command": command, "curve": curve,
              "final_through_graph": {"step": step, **graph_eval}, "practice_s": practice_s,
              "wall_s": time.monotonic() - wall_start}
    (out / "results.json").write_text(json.dumps(result, indent=1))
    print(f"[residual_graph_run] through the graph at {step} steps: success {graph_eval['success_rate']:.2f} "
          f"(in this process, same weights: {curve[-1]['success_rate']:.2f}); results: {out / 'results.json'}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rig_bringup.residual_graph_run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", choices=tuple(METHODS), default="residual")
    parser.add_argument("--steps", type=int, default=2000, help="env steps (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reward", choices=("dense", "sparse"), default="dense")
    parser.add_argument("--error", type=float, default=0.006, help="controller target error (m)")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--eval-episodes", type=int, default=30)
    parser.add_argument("--out", required=True, help="output directory (results.json, logs, weights)")
    parser.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID of the graph (default: a random one in 100-199)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds any one phase may take")
    args = parser.parse_args(argv)
    command = "python -m rig_bringup.residual_graph_run " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    try:
        config = ResidualRLConfig.from_dict({"total_steps": args.steps, "seed": args.seed, "reward": args.reward,
                                             "target_error": args.error, "eval_every": args.eval_every,
                                             "eval_episodes": args.eval_episodes, **METHODS[args.method]})
        domain = args.domain_id if args.domain_id is not None else random.Random(os.urandom(8)).randint(100, 199)
        run(config, Path(args.out), domain, args.timeout, command)
    except (RigError, GraphError) as err:
        print(f"residual_graph_run: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("residual_graph_run: interrupted (the nodes were stopped; logs are in --out)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
