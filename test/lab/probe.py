#!/usr/bin/env python3
"""Bounded one-shot probes from a fixed source port, for captures of failed connections.

    probe.py tcp --src ADDR --src-port P --dst ADDR --dst-port P [--timeout S]
        Connects and closes at once. Prints "connected", "refused" (RST back) or "timeout" (no
        answer to the SYN, e.g. a DROP rule), exits 0 in all three cases.
    probe.py udp --src ADDR --src-port P --dst ADDR --dst-port P [--timeout S]
        Sends one 16-byte binary datagram on a connected UDP socket and waits for an answer.
        Prints "reply", "unreachable" (an ICMP/ICMPv6 port unreachable came back, which Linux
        reports on a connected socket as ECONNREFUSED) or "timeout".
        With --ntp the datagram is a 48-byte NTP client request instead (RFC 5905 section 7.3).
"""
import argparse
import socket
import sys


def family(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def tcp(args: argparse.Namespace) -> str:
    s = socket.socket(family(args.dst), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.src, args.src_port))
    s.settimeout(args.timeout)
    try:
        s.connect((args.dst, args.dst_port))
        return "connected"
    except ConnectionRefusedError:
        return "refused"
    except (socket.timeout, TimeoutError):
        return "timeout"
    finally:
        s.close()


# An NTP client request (RFC 5905 section 7.3, figure 8): first byte LI=0 (no warning, bits
# 7-6), VN=4 (bits 5-3), Mode=3 client (bits 2-0) = 0x23; stratum 0, poll 6 (64 s), precision
# 0xEC (-20: about a microsecond); root delay, root dispersion, reference ID and the reference,
# origin and receive timestamps all zero; a non-zero transmit timestamp (bytes 40-47), which the
# server copies into its origin timestamp.
NTP_REQUEST = bytes([0x23, 0x00, 0x06, 0xEC]) + bytes(36) + bytes([0xE8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01])


def udp(args: argparse.Namespace) -> str:
    s = socket.socket(family(args.dst), socket.SOCK_DGRAM)
    s.bind((args.src, args.src_port))
    s.connect((args.dst, args.dst_port))
    s.settimeout(args.timeout)
    try:
        s.send(NTP_REQUEST if args.ntp else bytes([0x00, 0xFF, 0x10, 0x80]) * 4)
        s.recv(2048)
        return "reply"
    except ConnectionRefusedError:
        return "unreachable"
    except (socket.timeout, TimeoutError):
        return "timeout"
    finally:
        s.close()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["tcp", "udp"])
    p.add_argument("--src", required=True)
    p.add_argument("--src-port", type=int, required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--dst-port", type=int, required=True)
    p.add_argument("--timeout", type=float, default=2.5)
    p.add_argument("--ntp", action="store_true", help="udp: send an NTP client request")
    args = p.parse_args()
    print(tcp(args) if args.kind == "tcp" else udp(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
