from setuptools import find_packages, setup

package_name = "rig_bringup"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="rig-ros2 developers",
    maintainer_email="rig-ros2@example.com",
    description="Orchestration commands: bringup (a graph, each node in its own process), graph_run (RIG through "
                "the lock-step graph) and collect_demos (demonstrations to a bag).",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "bringup = rig_bringup.bringup:main",
            "graph_run = rig_bringup.graph_run:main",
            "collect_demos = rig_bringup.collect_demos:main",
        ],
    },
)
