from glob import glob

from setuptools import find_packages, setup

package_name = "rig_runtime"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/graphs", glob("../../../launch/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="rig-ros2 developers",
    maintainer_email="rig-ros2@example.com",
    description="What every rig-ros2 node stands on: node runner and stop handling, QoS, parameters, stamps, "
                "image conversion, the graph description, node processes, scheduling.",
    license="Apache-2.0",
)
