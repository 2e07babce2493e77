"""A Fast DDS profile for nodes on different hosts: plain UDPv4 only (no shared memory, so nothing bypasses the
network even when the "hosts" share a kernel), discovery announced to the given peers by unicast (for links that
drop multicast) and to the standard SPDP multicast group (for the other nodes on the same host).

    python -m rig_runtime.dds_profile --peer 10.0.0.2 [--peer ...] > fastdds_udp.xml
    FASTDDS_DEFAULT_PROFILES_FILE=fastdds_udp.xml ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET ros2 run ...

(scripts/ros_env.sh sets ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, which keeps discovery on this host: override it.)
The trainer on a GPU workstation names the robot PC as its peer and the robot PC names the workstation.
"""

from __future__ import annotations

import argparse
import ipaddress
from xml.sax.saxutils import escape

SPDP_MULTICAST = "239.255.0.1"  # the RTPS default discovery group; the port follows from the domain
PROFILE_ENV = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}  # with FASTDDS_DEFAULT_PROFILES_FILE pointing at the file


def udp_profile_xml(peers: list[str]) -> str:
    """The default participant profile: UDPv4 transport only; initial peers: the SPDP multicast group and `peers`
    (IPv4 addresses)."""
    for peer in peers:
        ipaddress.IPv4Address(peer)  # ValueError on anything else
    locators = "".join(f"\n            <locator><udpv4><address>{escape(p)}</address></udpv4></locator>"
                       for p in [SPDP_MULTICAST, *peers])
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<dds xmlns="http://www.eprosima.com">
  <profiles>
    <transport_descriptors>
      <transport_descriptor>
        <transport_id>udp_only</transport_id>
        <type>UDPv4</type>
      </transport_descriptor>
    </transport_descriptors>
    <participant profile_name="rig_udp_peers" is_default_profile="true">
      <rtps>
        <userTransports>
          <transport_id>udp_only</transport_id>
        </userTransports>
        <useBuiltinTransports>false</useBuiltinTransports>
        <builtin>
          <initialPeersList>{locators}
          </initialPeersList>
        </builtin>
      </rtps>
    </participant>
  </profiles>
</dds>
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", action="append", required=True, help="IPv4 address of another host (repeat)")
    args = parser.parse_args(argv)
    try:
        print(udp_profile_xml(args.peer), end="")
    except ValueError as err:
        parser.error(str(err))


if __name__ == "__main__":
    main()
