from setuptools import find_packages, setup

package_name = "sawyer_sim"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/config", ["config/sim_node.yaml"]),
    ],
    entry_points={"console_scripts": ["sim_node = sawyer_sim.sim_node:main"]},
    package_data={package_name: ["assets/*.xml"]},
    include_package_data=True,
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="rig-ros2 developers",
    maintainer_email="rig-ros2@example.com",
    description="MuJoCo Sawyer visual reaching and pushing environments (gymnasium API).",
    license="Apache-2.0",
)
