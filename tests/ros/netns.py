"""Two "hosts" on one machine: Linux network namespaces joined by a veth pair (needs root and `ip netns`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


def unavailable() -> str | None:
    """Why two network namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root for ip netns"
    if shutil.which("ip") is None:
        return "no ip command (iproute2)"
    name = f"rigprobe{os.getpid()}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    _ip("netns", "del", name)
    return None


class HostPair:
    """Namespaces `<tag>a` (address .1) and `<tag>b` (address .2) on 10.213.<subnet>.0/24, each with lo up,
    one end of a veth pair and a multicast route over it; removed (with the veth) by close()."""

    def __init__(self, tag: str, subnet: int) -> None:
        self.names = (f"{tag}a", f"{tag}b")
        self.devices = (f"{tag}va", f"{tag}vb")
        self.addresses = (f"10.213.{subnet}.1", f"10.213.{subnet}.2")
        steps = [("netns", "add", self.names[0]), ("netns", "add", self.names[1]),
                 ("link", "add", self.devices[0], "type", "veth", "peer", "name", self.devices[1])]
        for ns, dev, addr in zip(self.names, self.devices, self.addresses, strict=True):
            steps += [("link", "set", dev, "netns", ns), ("-n", ns, "addr", "add", f"{addr}/24", "dev", dev),
                      ("-n", ns, "link", "set", dev, "up"), ("-n", ns, "link", "set", "lo", "up"),
                      ("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev)]
        for step in steps:
            res = _ip(*step)
            if res.returncode != 0:
                self.close()
                raise RuntimeError(f"ip {' '.join(step)}: {res.stderr.strip()}")

    def prefix(self, host: int) -> list[str]:
        """Command prefix that runs a program on host 0 or 1."""
        return ["ip", "netns", "exec", self.names[host]]

    def rx_bytes(self, host: int) -> int:
        """Bytes received on host `host`'s end of the link."""
        out = subprocess.run([*self.prefix(host), "cat", f"/sys/class/net/{self.devices[host]}/statistics/rx_bytes"],
                             capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip() or 0)

    def close(self) -> None:
        for ns in self.names:
            _ip("netns", "del", ns)


def write_profile(path: Path, peer: str) -> Path:
    from rig_runtime.dds_profile import udp_profile_xml

    path.write_text(udp_profile_xml([peer]))
    return path
