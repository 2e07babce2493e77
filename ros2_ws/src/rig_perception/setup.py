from glob import glob

from setuptools import find_packages, setup

package_name = "rig_perception"

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
    description="Camera node (RealSense / OpenCV / video file) and VAE encoder node.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "camera_node = rig_perception.camera_node:main",
            "encoder_node = rig_perception.encoder_node:main",
        ],
    },
)
