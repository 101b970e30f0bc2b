#!/usr/bin/env python3
"""An 802.1Q VLAN sub-interface made in user space, for kernels without 802.1Q support.

    vlan_relay.py --parent-netns NAME --parent eth0 --inner vlan0p --vid N [--timeout S]

Run inside the namespace holding INNER (one end of a veth pair whose other end, in the
parent's namespace, carries the VLAN address and the parent's MAC: the "sub-interface").
Frames the sub-interface sends come out of INNER; they are tagged with VLAN ID N (IEEE 802.1Q:
TPID 0x8100 after the two MAC addresses, then the 16-bit TCI: priority 0, DEI 0, the 12-bit VID)
and sent on PARENT, so a capture on PARENT sees them leave tagged, as from eth0.N. Frames that
arrive on PARENT tagged with VID N are sent, untagged, into INNER. The kernel moves a received
tag out of the frame into the packet's metadata before any packet socket sees it, so the VID of
a received frame is read from PACKET_AUXDATA (linux/if_packet.h, struct tpacket_auxdata).

The parent's socket is opened inside the parent's namespace (setns(2)) and the inner one here,
so a capture with -i any in the parent's namespace sees the sub-interface and the parent only,
as with a real eth0.N. Everything is bounded by --timeout; stops on SIGTERM.
"""
import argparse
import ctypes
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
CLONE_NEWNET = 0x40000000


def packet_socket(dev: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((dev, 0))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    return s


def in_netns(name: str, fn):
    """Runs fn() inside network namespace NAME, then comes back."""
    libc = ctypes.CDLL(None, use_errno=True)
    here = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(there, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        try:
            return fn()
        finally:
            if libc.setns(here, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(here)
        os.close(there)


def vid_of(ancdata) -> int | None:
    for level, kind, data in ancdata:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= 20:
            status, _len, _snap, _mac, _net, tci, _tpid = struct.unpack("IIIHHHH", data[:20])
            if status & TP_STATUS_VLAN_VALID:
                return tci & 0x0FFF
    return None


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--parent-netns", required=True)
    p.add_argument("--parent", required=True)
    p.add_argument("--inner", required=True)
    p.add_argument("--vid", type=int, required=True)
    p.add_argument("--timeout", type=float, default=300)
    a = p.parse_args()
    inner = packet_socket(a.inner)
    parent = in_netns(a.parent_netns, lambda: packet_socket(a.parent))
    tag = struct.pack("!HH", 0x8100, a.vid & 0x0FFF)  # TPID, TCI (PCP 0, DEI 0, VID)
    print("relaying", flush=True)
    end = time.monotonic() + a.timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([inner, parent], [], [], 1.0)
        for s in ready:
            frame, anc, _flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(32))
            if addr[2] == PACKET_OUTGOING:
                continue  # our own sends, and what the stack sends on that device
            if s is inner:
                if len(frame) >= 14:
                    parent.send(frame[:12] + tag + frame[12:])
            elif vid_of(anc) == a.vid:
                inner.send(frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
