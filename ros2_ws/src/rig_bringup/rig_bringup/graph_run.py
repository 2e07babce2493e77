"""The main job through the ROS graph: RIG trained by the node graph in lock-step, evaluated on held-out
goal images through the same graph, written up with the same report as the in-process `rig run`.

    source scripts/ros_env.sh
    python -m rig_bringup.graph_run --env reacher --steps 2000 --out runs/graph-reacher

Every node of launch/sim_reacher_lockstep.yaml runs as its own process (sim, encoder, policy, episode,
trainer); this process only watches and evaluates. The trainer gets the in-process run's configuration
(`rig_core.config.default_config(env)` + --set overrides), and each lock-step episode waits for it to train
on every step so far (`updates_per_step` per step, as `rig run` does between steps).

Evaluation at the end of VAE pre-training, every `eval_every` env steps and at the end, on held-out goal
images (`make_goal_set(env, eval_goals, eval_seed)`, the same as the in-process run's). The intermediate ones
run `rig_core.evaluate` in this process, on the weights the trainer published at that step (the actor and VAE the
policy and encoder nodes load), in a thread while the graph trains on. The final one also runs through the
graph: the episode node is held (/episode/run_until), then for each goal the sim is reset to the goal's scene
(/sim/reset with goal_state), the goal image is encoded with the trainer's VAE and sent as an "eval" goal
(deterministic policy, not experience), and the final distance is read from the sim's ground truth (/sim/state)
at the episode's last observation. The report's last point is the graph's; results.json also holds the
in-process evaluation of the same weights (`final_in_process`), which checks the deployed chain against it.
The random-policy baseline is measured in-process on the same goals, while the nodes start.

With --arms N every node but the trainer runs once per arm under /armK (rig_runtime.arms), the one trainer learns
from all of them, each arm takes its share of the env steps, and the final evaluation goes through arm 0 while the
others are held.

--node-prefix NODE=COMMAND runs that node behind a command prefix, e.g. the trainer in another network namespace
(`trainer_node="ip netns exec learner env FASTDDS_DEFAULT_PROFILES_FILE=udp.xml"`), as a trainer on another host.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
import torch
from rclpy.context import Context
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import String, UInt64

from rig_core.cli import parse_set_items
from rig_core.config import RIGConfig, default_config
from rig_core.errors import RigError
from rig_core.evaluate import DISTANCE_KEYS, EvalResult, GoalSet, evaluate, make_goal_set, random_policy
from rig_core.policy_weights import PolicyWeights, load_policy_weights
from rig_interfaces.msg import Goal, SimState, Weights
from rig_interfaces.srv import Reset
from rig_runtime.arms import arm_namespace, expand_arms
from rig_runtime.graph import Graph, graph_file, load_graph, node_command
from rig_runtime.messages import stamp_ns
from rig_runtime.node_runner import make_executor, spin_in_background
from rig_runtime.processes import describe_exit, die_with_parent, stop_processes
from rig_runtime.qos import LATCHED_QOS

EVAL_EPISODE_BASE = 1_000_000  # evaluation goals' episode numbers (training episodes count from 1)
GRAPH_FILE = "sim_reacher_lockstep.yaml"


class GraphError(RuntimeError):
    pass


def graph_path() -> Path:
    return graph_file(GRAPH_FILE)


def node_overrides(config: RIGConfig, horizon: int, out: Path, torch_threads: int = 1,
                   pretrain_threads: int = 0) -> dict[str, dict[str, Any]]:
    """Parameters that make the graph run `config`: the trainer gets the whole config as JSON."""
    trainer_config = {k: v for k, v in config.to_dict().items() if k not in ("env", "total_steps")}
    return {
        "sim_node": {"env": config.env, "image_size": config.image_size, "seed": config.seed, "control": config.arm_control},
        "policy_node": {"seed": config.seed, "exploration_sigma": config.exploration.ou_sigma,
                        "exploration_theta": config.exploration.ou_theta},
        "episode_node": {"horizon": horizon, "seed": config.seed, "wait_for_trainer": True, "hold_until_told": True},
        "trainer_node": {"env": config.env, "seed": config.seed, "config_overrides": json.dumps(trainer_config),
                         "replay_capacity": config.replay_capacity, "checkpoint_dir": str(out / "checkpoint"),
                         "checkpoint_every": 3600.0, "publish_when_idle": True,
                         "step_synchronous": True, "publish_every": 10**9,
                         "nice": 0, "sched_idle": False,  # lock-step waits for the trainer: no real-time loop to protect
                         "torch_threads": torch_threads,  # what `rig run` trains with (torch's default here)
                         "pretrain_threads": pretrain_threads,
                         # and its TD3 updates once an episode's steps are all in: the chain waits on them
                         "catch_up_threads": pretrain_threads},
    }


def trainer_threads() -> int:
    """The trainer's default torch threads: torch's own choice less the cores the four other nodes keep busy. On
    2 cores, 2 trainer threads made the graph slower (170.7 s against 139.9 s with 1, benchmarks/RESULTS.md)."""
    return max(1, min(torch.get_num_threads(), (os.cpu_count() or 1) - 4))


def default_pretrain_threads() -> int:
    """The VAE pre-training's default torch threads, also the TD3 updates' once an episode has ended: torch's own
    choice, as `rig run` has. In lock-step the other nodes are idle then (the episode node waits for the trainer),
    so it need not leave them cores."""
    return torch.get_num_threads()


class Watcher:
    """This process's rclpy node: records what the evaluation needs and drives the evaluation episodes."""

    def __init__(self, domain_id: int, arms: int = 1) -> None:
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = Node("graph_run", context=self.context)
        self.lock = threading.Lock()
        self.weights: Weights | None = None
        self.metrics: dict[str, Any] = {}
        self.sim_states: dict[int, SimState] = {}
        self.frames: dict[int, np.ndarray] = {}
        self.done: dict[int, dict[str, Any]] = {}  # eval episode → policy status of its last tick
        self.policy_versions: dict[int, set[int]] = {}
        self.episode_states: list[dict[str, Any]] = [{} for _ in range(arms)]
        n = self.node
        ns = [arm_namespace(k) if arms > 1 else "" for k in range(arms)]
        n.create_subscription(Weights, "/trainer/weights", self._set("weights"), LATCHED_QOS)
        n.create_subscription(String, "/trainer/metrics", lambda m: self._store("metrics", json.loads(m.data)), 10)
        for k in range(arms):
            n.create_subscription(String, f"{ns[k]}/episode/state", lambda m, k=k: self.on_episode_state(k, m),
                                  LATCHED_QOS)
        self.run_until_pubs = [n.create_publisher(UInt64, f"{ns[k]}/episode/run_until", LATCHED_QOS) for k in range(arms)]
        # The evaluation episodes run on arm 0 (the only arm with one).
        self.eval_ns = ns[0]
        self.eval_subs: list[Any] = []  # /policy/status, /sim/state, frames: only while evaluating (watch_evaluation)
        self.goal_pub = n.create_publisher(Goal, f"{ns[0]}/episode/goal", LATCHED_QOS)
        self.reset = n.create_client(Reset, f"{ns[0]}/sim/reset")
        self.executor = make_executor(context=self.context)
        self.executor.add_node(n)
        self.thread = spin_in_background(self.executor, self.context)

    def watch_evaluation(self, timeout: float = 10.0) -> None:
        """Subscribe to arm 0's policy status, ground truth and frames for evaluation episodes, and wait until the
        publishers are matched. Only then: in training every step would also wake this process three times."""
        if self.eval_subs:
            return
        n, ns = self.node, self.eval_ns
        self.eval_subs = [n.create_subscription(String, f"{ns}/policy/status", self.on_status, 100),
                          n.create_subscription(SimState, f"{ns}/sim/state", self.on_sim_state, 100),
                          n.create_subscription(Image, f"{ns}/camera/image_raw", self.on_image,
                                                QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))]
        deadline = time.monotonic() + timeout
        while any(sub.get_publisher_count() == 0 for sub in self.eval_subs):
            if time.monotonic() > deadline:
                missing = [sub.topic_name for sub in self.eval_subs if sub.get_publisher_count() == 0]
                raise GraphError(f"no publisher matched {', '.join(missing)} within {timeout:.0f} s")
            time.sleep(0.01)
        time.sleep(0.2)  # the publishers learn of the new readers a moment after the readers learn of them

    def stop_watching_evaluation(self) -> None:
        for sub in self.eval_subs:
            self.node.destroy_subscription(sub)
        self.eval_subs = []
        with self.lock:
            self.frames.clear()
            self.sim_states.clear()

    def _set(self, name: str) -> Callable[[Any], None]:
        return lambda msg: self._store(name, msg)

    def _store(self, name: str, value: Any) -> None:
        with self.lock:
            setattr(self, name, value)

    def on_episode_state(self, arm: int, msg: String) -> None:
        with self.lock:
            self.episode_states[arm] = json.loads(msg.data)

    def on_status(self, msg: String) -> None:
        status = json.loads(msg.data)
        episode = status["episode"]
        if episode >= EVAL_EPISODE_BASE:
            with self.lock:
                if status["reason"] == "":
                    self.policy_versions.setdefault(episode, set()).add(status["policy_version"])
                if status["reason"] == "episode done":
                    self.done[episode] = status

    def on_sim_state(self, msg: SimState) -> None:
        with self.lock:
            self.sim_states[stamp_ns(msg.header.stamp)] = msg
            while len(self.sim_states) > 2000:
                del self.sim_states[next(iter(self.sim_states))]

    def on_image(self, msg: Image) -> None:
        frame = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)
        with self.lock:
            self.frames[stamp_ns(msg.header.stamp)] = frame
            while len(self.frames) > 2000:
                del self.frames[next(iter(self.frames))]

    def close(self) -> None:
        self.executor.remove_node(self.node)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self.thread.join(timeout=2)


class GraphRun:
    """The graph's processes, the watcher, and the schedule's steps (run until N env steps, wait for the trainer,
    evaluation episodes through the graph). ``needs_vae``: the trainer's weights count only once a VAE is trained."""

    def __init__(self, graph: Graph, out: Path, horizon: int, domain_id: int, timeout: float, eval_seed: int,
                 arms: int = 1, prefixes: dict[str, list[str]] | None = None, needs_vae: bool = True) -> None:
        self.out, self.horizon, self.timeout, self.arms, self.eval_seed = out, horizon, timeout, arms, eval_seed
        self.graph, self.needs_vae = graph, needs_vae
        self.env = {**os.environ, "ROS_DOMAIN_ID": str(domain_id), "ROS_LOG_DIR": str(out / "logs" / "ros"),
                    "PYTHONUNBUFFERED": "1"}
        self.procs: dict[str, subprocess.Popen] = {}
        self.prefixes = prefixes or {}
        unknown = set(self.prefixes) - {spec.full_name for spec in self.graph.nodes}
        if unknown:
            raise GraphError(f"--node-prefix names no node of the graph: {', '.join(sorted(unknown))}")
        self.watcher = Watcher(domain_id, arms)
        self.eval_episode = EVAL_EPISODE_BASE

    # ---- processes -----------------------------------------------------------------------------
    def start(self) -> None:
        logs = self.out / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for spec in self.graph.nodes:
            cmd = [*self.prefixes.get(spec.full_name, []), *node_command(spec, self.graph, logs / "params")]
            log_name = spec.full_name.replace("/", "_")  # arm0_sim_node.log with several arms, else sim_node.log
            log = open(logs / f"{log_name}.log", "wb")  # noqa: SIM115 - the child process owns it
            self.procs[spec.full_name] = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                     preexec_fn=die_with_parent)
            log.close()

    def stop(self, grace: float = 30.0) -> None:
        stop_processes(self.procs, grace, "graph_run")
        self.watcher.close()

    def wait(self, condition: Callable[[], bool], what: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        while not condition():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    tail = (self.out / "logs" / f"{name.replace('/', '_')}.log").read_text(errors="replace")[-2000:]
                    code = describe_exit(proc.returncode)
                    raise GraphError(f"{name} exited with code {code} while waiting for {what}:\n{tail}")
            if time.monotonic() > deadline:
                raise GraphError(f"timed out after {timeout or self.timeout:.0f} s waiting for {what}")
            time.sleep(0.02)

    # ---- the schedule --------------------------------------------------------------------------
    def run_until(self, steps: int) -> tuple[float, int]:
        """Let the episode node(s) run training episodes until `steps` env steps in all (each arm its share), then
        hold; wait for the trainer to have trained on all of them and published its weights. Returns when the steps
        were done and how many were taken (each arm stops at an episode boundary)."""
        w = self.watcher
        shares = [steps * (k + 1) // self.arms - steps * k // self.arms for k in range(self.arms)]
        for pub, share in zip(w.run_until_pubs, shares, strict=True):
            pub.publish(UInt64(data=share))

        def paused() -> bool:
            with w.lock:
                states = list(w.episode_states)
            return all(s.get("state") == "paused" and s.get("steps", 0) >= n for s, n in zip(states, shares, strict=True))

        self.wait(paused, f"{steps} env steps through the graph")
        with w.lock:
            taken, stepped = sum(int(s["steps"]) for s in w.episode_states), time.monotonic()
        self.wait(lambda: w.metrics.get("idle") and w.metrics.get("env_steps", 0) >= taken
                  and (w.metrics.get("vae_version", 0) > 0 or not self.needs_vae) and w.weights is not None
                  and w.weights.version >= w.metrics.get("version", 0), "the trainer to catch up")
        return stepped, taken

    def latest_weights(self) -> PolicyWeights:
        return load_policy_weights(bytes(self.watcher.weights.safetensors))

    def eval_episode_through_graph(self, request: Reset.Request, goal_for: Callable[[Reset.Response, int], Goal],
                                   what: str) -> tuple[SimState, list[np.ndarray]]:
        """Reset the sim with `request`, send `goal_for(answer, episode)` as an evaluation goal (deterministic policy,
        not experience), wait for the episode's end; the sim's ground truth at its last observation and its frames."""
        w = self.watcher
        w.watch_evaluation()
        self.wait(lambda: w.reset.service_is_ready(), "the /sim/reset service")
        future = w.reset.call_async(request)
        self.wait(future.done, "an evaluation reset")
        answer = future.result()
        if not answer.success:
            raise GraphError(f"evaluation reset failed: {answer.message}")
        self.eval_episode += 1
        episode = self.eval_episode
        goal = goal_for(answer, episode)
        goal.header.stamp = answer.stamp
        w.goal_pub.publish(goal)
        self.wait(lambda: episode in w.done, what)
        final_ns, start_ns = w.done[episode]["image_ns"], stamp_ns(answer.stamp)
        self.wait(lambda: final_ns in w.sim_states and final_ns in w.frames, "the final /sim/state and frame", 10.0)
        with w.lock:
            return w.sim_states[final_ns], [f for t, f in sorted(w.frames.items()) if start_ns <= t <= final_ns]

    def evaluate(self, goals: GoalSet, weights: PolicyWeights, strips: int = 4, strip_frames: int = 6) -> EvalResult:
        """One deterministic episode per held-out goal through the graph; final distances from /sim/state."""
        w = self.watcher
        # The policy and encoder nodes took these weights when this process did (tens of ms to load); subscribing
        # for the evaluation takes longer. An episode that still ran other weights is reported below.
        w.watch_evaluation()
        goal_latents = weights.vae.encode(goals.images)[0]
        per_goal: dict[str, list[float]] = {}
        out_strips = []
        for i, (state, latent) in enumerate(zip(goals.states, goal_latents, strict=True)):
            def goal_for(_answer: Reset.Response, episode: int, latent=latent) -> Goal:
                return Goal(episode=episode, horizon=self.horizon, source="eval", latent=latent.tolist(),
                            vae_version=weights.version)

            sim, frames = self.eval_episode_through_graph(
                Reset.Request(seed=self.eval_seed + i, goal_state=state.tolist()), goal_for,
                f"evaluation episode {i + 1}/{len(goals.states)}")
            distances = dict(zip(sim.distance_names, sim.distances, strict=True))
            for key in DISTANCE_KEYS:
                if key in distances:
                    per_goal.setdefault(key, []).append(float(distances[key]))
            if i < strips and frames:
                pick = np.linspace(0, len(frames) - 1, strip_frames).round().astype(int)
                out_strips.append({"goal": goals.images[i], "frames": np.stack([frames[j] for j in pick])})
        w.stop_watching_evaluation()
        stale = {e: v for e, v in w.policy_versions.items() if e > self.eval_episode - len(goals.states)
                 and v != {weights.version}}
        if stale:
            print(f"[graph_run] note: {len(stale)} evaluation episode(s) partly ran other weight versions", flush=True)
        final = {k: float(np.mean(v)) for k, v in per_goal.items()}
        return EvalResult(final, per_goal, out_strips)


def evaluate_in_process(env, goals: GoalSet, weights: PolicyWeights, seed: int) -> EvalResult:
    """`rig_core.evaluate` with the published actor and VAE: what the policy and encoder nodes compute."""
    return evaluate(env, goals, weights.act, lambda frames: weights.vae.encode(frames)[0], seed=seed)


def run(config: RIGConfig, out: Path, domain_id: int, timeout: float, command: str, threads: int | None = None,
        arms: int = 1, prefixes: dict[str, list[str]] | None = None, pretrain_threads: int | None = None) -> Path:
    import sawyer_sim
    from rig_core.agent import RIGAgent
    from rig_core.checkpoint import load_checkpoint
    from rig_core.loop import RunResult
    from rig_core.report import write_report

    if (out / "checkpoint").exists():
        raise GraphError(f"{out / 'checkpoint'} exists: choose a new --out (the trainer would resume from it)")
    kwargs: dict[str, Any] = {"image_size": config.image_size, "seed": config.seed, "control": config.arm_control}
    if config.max_episode_steps:
        kwargs["max_episode_steps"] = config.max_episode_steps
    # The in-process env lives in the evaluation thread: its offscreen GL context belongs to the thread that made it.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evaluation")
    local_env = pool.submit(sawyer_sim.make, config.env, **kwargs).result()
    horizon = local_env.max_episode_steps
    goals = pool.submit(make_goal_set, local_env, config.eval_goals, config.eval_seed).result()
    wall_start = time.monotonic()
    overrides = node_overrides(config, horizon, out, threads or trainer_threads(),
                               pretrain_threads or default_pretrain_threads())
    graph = expand_arms(load_graph(graph_path(), overrides), arms)
    job = GraphRun(graph, out, horizon, domain_id, timeout, config.eval_seed, arms, prefixes)
    pending: list[tuple[int, int, Future[EvalResult]]] = []  # (step, weights version, in-process evaluation)
    timings: dict[str, float] = {}
    final_eval = final_in_process = None

    def evaluate_later(step: int) -> None:
        weights = job.latest_weights()
        pending.append((step, weights.version,
                        pool.submit(evaluate_in_process, local_env, goals, weights, config.eval_seed)))

    try:
        job.start()
        random_future = pool.submit(lambda: evaluate(local_env, goals, random_policy(config.seed),
                                                     lambda f: np.zeros((len(f), 1)), seed=config.eval_seed).final)
        t0 = time.monotonic()
        explored, _ = job.run_until(config.exploration_steps)  # 1. exploration, 2. VAE pre-training in the trainer
        timings["exploration_s"], timings["vae_pretrain_s"] = explored - t0, time.monotonic() - explored
        if config.exploration_steps < config.total_steps:  # else the final evaluation below is this one
            evaluate_later(config.exploration_steps)
        step = config.exploration_steps
        t0 = time.monotonic()
        while step < config.total_steps:  # 3. practice with imagined goals
            step = min(config.total_steps, (step // config.eval_every + 1) * config.eval_every)
            _, step = job.run_until(step)
            if step < config.total_steps:
                evaluate_later(step)
        timings["practice_s"] = time.monotonic() - t0
        t0 = time.monotonic()
        weights = job.latest_weights()
        evaluate_later(step)  # in process, alongside the evaluation through the graph (which waits on its chain)
        final_eval = job.evaluate(goals, weights)  # 4. the final evaluation through the graph
        timings["graph_eval_s"] = time.monotonic() - t0
        print(f"[graph_run] step {step} through the graph: " + " ".join(f"{k}={v:.4f}" for k, v in final_eval.final.items())
              + f" (weights version {weights.version})", flush=True)
    finally:
        job.stop()
        pool.submit(local_env.close)
        pool.shutdown(wait=True)
    curve: list[dict[str, float]] = []
    for at, version, future in pending:
        result = future.result()
        curve.append({"step": at, **result.final})
        print(f"[graph_run] step {at} in process (weights version {version}): "
              + " ".join(f"{k}={v:.4f}" for k, v in result.final.items()), flush=True)
    final_in_process = curve[-1]
    curve[-1] = {"step": step, **final_eval.final}  # the report's last point: the deployed chain's
    random_baseline = random_future.result()
    timings["wall_clock_s"] = time.monotonic() - wall_start
    agent = RIGAgent(config)
    load_checkpoint(agent, out / "checkpoint", with_replay=False)
    result = RunResult(config, curve, random_baseline, final_eval, goals.images, timings, agent)
    report = write_report([result], out, command)
    summary_path = out / "results.json"
    summary = json.loads(summary_path.read_text())
    summary["final_in_process"] = final_in_process  # the same weights evaluated by rig_core.evaluate
    summary["arms"] = arms
    summary_path.write_text(json.dumps(summary, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rig_bringup.graph_run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="reacher", help="sim env (default: reacher)")
    parser.add_argument("--steps", type=int, help="total env steps, exploration included (default: the config's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, help="env steps between evaluations")
    parser.add_argument("--eval-goals", type=int, help="held-out goal images per evaluation")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config value, as for `rig run`")
    parser.add_argument("--out", required=True, help="output directory (report.html, results.json, logs, checkpoint)")
    parser.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID of the graph (default: a random one in 100-199)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds any one phase may take")
    parser.add_argument("--arms", type=int, default=1, help="arms on the domain, each under /armK, one trainer "
                        "(the env steps are shared between them; default 1)")
    parser.add_argument("--node-prefix", action="append", default=[], metavar="NODE=COMMAND",
                        help="run NODE behind COMMAND (e.g. trainer_node='ip netns exec learner'); repeatable")
    parser.add_argument("--threads", type=int, help="the trainer's torch threads (default: torch's choice less 4 cores for the "
                        "other nodes, at least 1)")
    parser.add_argument("--pretrain-threads", type=int, help="the trainer's torch threads during VAE pre-training and "
                        "TD3 updates at episode ends, while the graph waits on it (default: torch's choice, as rig run)")
    args = parser.parse_args(argv)
    overrides = parse_set_items(args.set)
    flags = {"total_steps": args.steps, "eval_every": args.eval_every, "eval_goals": args.eval_goals, "seed": args.seed}
    overrides.update({k: v for k, v in flags.items() if v is not None})
    command = "python -m rig_bringup.graph_run " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    try:
        config = default_config(args.env, **overrides)
        domain = args.domain_id if args.domain_id is not None else random.Random(os.urandom(8)).randint(100, 199)
        if args.arms < 1:
            raise GraphError(f"--arms must be at least 1, got {args.arms}")
        prefixes = {}
        for item in args.node_prefix:
            node, sep, prefix = item.partition("=")
            if not sep or not node or not prefix.strip():
                raise GraphError(f"--node-prefix wants NODE=COMMAND, got {item!r}")
            prefixes[node] = shlex.split(prefix)
        report = run(config, Path(args.out), domain, args.timeout, command, args.threads, args.arms, prefixes,
                     args.pretrain_threads)
    except (RigError, GraphError) as err:
        print(f"graph_run: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graph_run: interrupted (the nodes were stopped; logs and the trainer checkpoint are in --out)",
              file=sys.stderr)
        return 130
    summary = json.loads((report.parent / "results.json").read_text())
    print(f"final {summary['metric']} at {summary['final_step']} steps: {summary['final_mean']:.4f} m "
          f"(random policy {summary['random_policy_mean']:.4f} m)")
    print(f"report: {report.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
