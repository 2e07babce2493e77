from glob import glob

from setuptools import find_packages, setup

package_name = "rig_policy"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/config", glob("config/*.yaml")),
        (f"share/{package_name}/launch", glob("launch/*.launch.py")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="rig-ros2 developers",
    maintainer_email="rig-ros2@example.com",
    description="10 Hz residual policy node, episode/reset node, teleop and demo nodes, launch files.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "policy_node = rig_policy.policy_node:main",
            "episode_node = rig_policy.episode_node:main",
            "spacemouse_teleop_node = rig_policy.spacemouse_teleop_node:main",
            "demo_node = rig_policy.demo_node:main",
            "scripted_teleop_node = rig_policy.scripted_teleop_node:main",
        ],
    },
)
