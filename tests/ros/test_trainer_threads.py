"""trainer_node's torch threads for TD3 updates: `catch_up_threads` while every arm's latest step ended its episode
(a lock-step graph then waits on the trainer), `torch_threads` while steps are still coming."""

from types import SimpleNamespace

import pytest
import torch

from rig_interfaces.msg import ExperienceStep
from rig_trainer.trainer_node import TrainerNode


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def trainer(arms: int, catch_up_threads: int) -> SimpleNamespace:
    """What update_threads and receive read of a TrainerNode, without a ROS context."""
    return SimpleNamespace(p=SimpleNamespace(torch_threads=1, catch_up_threads=catch_up_threads),
                           episode_ended=[False] * arms, queue=[])


def receive(node: SimpleNamespace, arm: int, is_last: bool) -> None:
    TrainerNode.receive(node, arm, ExperienceStep(episode=1, t=0, is_last=is_last))


def test_updates_take_the_catch_up_threads_once_the_episode_has_ended(restore_threads):
    node = trainer(arms=1, catch_up_threads=2)
    receive(node, 0, is_last=False)
    assert TrainerNode.update_threads(node) == 1 and torch.get_num_threads() == 1
    receive(node, 0, is_last=True)  # the chain now waits for the trainer
    assert TrainerNode.update_threads(node) == 2 and torch.get_num_threads() == 2
    receive(node, 0, is_last=False)  # the next episode's first step: the chain runs again
    assert TrainerNode.update_threads(node) == 1 and torch.get_num_threads() == 1
    assert len(node.queue) == 3  # every step is still queued for the replay


def test_with_several_arms_only_when_every_arm_has_ended_its_episode(restore_threads):
    node = trainer(arms=2, catch_up_threads=2)
    receive(node, 0, is_last=True)
    receive(node, 1, is_last=False)
    assert TrainerNode.update_threads(node) == 1
    receive(node, 1, is_last=True)
    assert TrainerNode.update_threads(node) == 2


def test_zero_catch_up_threads_keeps_torch_threads(restore_threads):
    node = trainer(arms=1, catch_up_threads=0)
    receive(node, 0, is_last=True)
    assert TrainerNode.update_threads(node) == 1 and torch.get_num_threads() == 1
