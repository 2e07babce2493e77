from setuptools import find_packages, setup

package_name = "rig_core"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="rig-ros2 developers",
    maintainer_email="rig-ros2@example.com",
    description="RIG learning core: beta-VAE, TD3, relabeling, replay, checkpoints (no ROS).",
    license="Apache-2.0",
    entry_points={"console_scripts": ["rig = rig_core.cli:main"]},
)
