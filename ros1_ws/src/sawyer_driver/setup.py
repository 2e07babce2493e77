from setuptools import find_packages, setup

setup(
    name="sawyer_driver",
    version="0.1.0",
    packages=find_packages(),
    install_requires=["numpy", "pin"],
    extras_require={"twin": ["mujoco"]},
    zip_safe=False,
    description="Sawyer arm driver: controller core (Pinocchio), rospy node on intera's topics, MuJoCo twin.",
    license="Apache-2.0",
)
