from glob import glob

from setuptools import find_packages, setup

package_name = "rig_trainer"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="rig-ros2 developers",
    maintainer_email="rig-ros2@example.com",
    description="Asynchronous RIG trainer node: replay, TD3 + VAE training, versioned weights, checkpoints.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "trainer_node = rig_trainer.trainer_node:main",
            "residual_trainer_node = rig_trainer.residual_trainer_node:main",
            "bag_recorder = rig_trainer.bag_recorder:main",
            "bag_replay = rig_trainer.bag_replay:main",
            "offline_train = rig_trainer.offline_train:main",
            "export_lerobot = rig_trainer.export_lerobot:main",
        ],
    },
)
