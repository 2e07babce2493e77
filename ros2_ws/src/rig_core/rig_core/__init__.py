"""RIG learning core: β-VAE, TD3, goal relabeling, latent rewards, replay, checkpoints.

Pure Python + torch. Nothing in this package imports ROS; the ROS nodes are thin adapters over it.
"""

__version__ = "0.1.0"
