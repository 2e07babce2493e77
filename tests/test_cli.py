"""The `rig` command end to end in the MuJoCo simulator (tiny run), and its bad-input errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

TINY = ["--steps", "160", "--exploration-steps", "100", "--eval-every", "60", "--eval-goals", "2",
        "--set", "vae.pretrain_batches=10", "--set", "td3.hidden_sizes=[32,32]", "--set", "td3.batch_size=32",
        "--set", "replay_capacity=1000", "--checkpoint-every", "100", "--quiet"]


def rig(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rig_core.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_tiny_run_writes_report_and_resumes(tmp_path):
    out = tmp_path / "run"
    done = rig("run", "--env", "reacher", "--out", str(out), *TINY)
    assert done.returncode == 0, done.stderr
    assert "report:" in done.stdout
    for name in ("report.html", "curve.png", "vae.png", "rollouts.png", "results.json"):
        assert (out / name).stat().st_size > 0, name
    results = json.loads((out / "results.json").read_text())
    assert results["final_step"] == 160 and results["env"] == "reacher"
    assert [row["step"] for row in results["curves"]["0"]] == [100, 120, 160]
    html = (out / "report.html").read_text()
    assert "curve.png" in html and "td3" in html
    # a longer run resumes from the checkpoint instead of starting over
    again = rig("run", "--env", "reacher", "--out", str(out), *TINY[:1], "200", *TINY[2:], "--resume")
    assert again.returncode == 0, again.stderr
    curve = json.loads((out / "results.json").read_text())["curves"]["0"]
    assert [row["step"] for row in curve] == [100, 120, 160, 180, 200]
    evaluated = rig("eval", "--checkpoint", str(out / "seed0" / "checkpoint"), "--goals", "2")
    assert evaluated.returncode == 0 and "ee_distance=" in evaluated.stdout


def test_cc_rig_run_on_the_multi_colour_pusher_and_its_eval(tmp_path):
    out = tmp_path / "cc"
    done = rig("run", "--env", "color_pusher", "--vae", "ccvae", "--out", str(out), "--steps", "60", "--exploration-steps",
               "40", "--set", "max_episode_steps=20", *TINY[6:])
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["vae"]["model"] == "ccvae" and "CC-RIG" in (out / "report.html").read_text()
    random_policy = results["random_policy"]["0"]  # every metric of the random baseline, for plots of any of them
    assert random_policy[results["metric"]] == results["random_policy_mean"]
    assert 0 < random_policy["puck_distance"] < random_policy["total_distance"]
    evaluated = rig("eval", "--checkpoint", str(out / "seed0" / "checkpoint"), "--goals", "2")
    assert evaluated.returncode == 0 and "puck_distance=" in evaluated.stdout, evaluated.stderr


@pytest.mark.parametrize("args, message", [
    (["run", "--env", "walker"], "unknown env 'walker'"),
    (["run", "--set", "td3.gamma=2"], "td3.gamma must be in (0, 1)"),
    (["run", "--set", "vae.depth=3"], "unknown config key vae.depth"),
    (["run", "--set", "nonsense"], "--set expects key=value"),
    (["run", "--env", "pusher", "--goals", "skewfit", "--skew-alpha", "2"], "skewfit.alpha must be in [-10, 0]"),
    (["eval", "--checkpoint", "/nonexistent"], "no checkpoint at /nonexistent"),
    (["run", "--vae", "ccvae", "--goals", "env"], "vae.model=ccvae samples goals from its prior or p_skewed"),
])
def test_bad_input_is_one_line_and_nonzero(args, message):
    done = rig(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_corrupt_checkpoint_is_reported(tmp_path):
    ckpt = tmp_path / "checkpoint"
    ckpt.mkdir()
    (ckpt / "agent.safetensors").write_bytes(b"\x00" * 64)
    done = rig("eval", "--checkpoint", str(ckpt))
    assert done.returncode == 2 and "corrupt checkpoint" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_lists_the_commands():
    done = rig("run", "--help")
    assert done.returncode == 0
    assert "--relabel" in done.stdout and "--online-vae-every" in done.stdout
    assert Path(sys.executable).exists()
