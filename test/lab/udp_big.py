#!/usr/bin/env python3
"""Send or receive one large UDP datagram per address, so the IP layer fragments it.

    udp_big.py serve --bind ADDR [--bind ADDR ...] --port P [--count N] [--timeout S]
    udp_big.py send --src ADDR --src-port P --dst ADDR --dst-port P [--size BYTES] [--timeout S]

The payload is binary (bytes 0..255 repeated) so a detector should call it "unknown". The server
answers each datagram with 4 bytes: the received length as a big-endian uint32. Both sides give up
after --timeout seconds, so nothing here can hang.
"""
import argparse
import selectors
import socket
import struct
import sys
import time


def family(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(args: argparse.Namespace) -> int:
    sel = selectors.DefaultSelector()
    socks = []
    for addr in args.bind:
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.bind((addr, args.port))
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    got = 0
    deadline = time.monotonic() + args.timeout
    while got < args.count:
        left = deadline - time.monotonic()
        if left <= 0:
            print(f"udp_big serve: timed out after {got} datagrams", file=sys.stderr)
            return 1
        for key, _ in sel.select(left):
            data, peer = key.fileobj.recvfrom(65535)
            key.fileobj.sendto(struct.pack(">I", len(data)), peer)
            got += 1
    for s in socks:
        s.close()
    return 0


def send(args: argparse.Namespace) -> int:
    s = socket.socket(family(args.dst), socket.SOCK_DGRAM)
    s.bind((args.src, args.src_port))
    s.settimeout(args.timeout)
    payload = bytes(i % 256 for i in range(args.size))
    s.sendto(payload, (args.dst, args.dst_port))
    reply, _ = s.recvfrom(64)
    (n,) = struct.unpack(">I", reply)
    s.close()
    if n != args.size:
        print(f"udp_big send: server saw {n} bytes, sent {args.size}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("serve")
    a.add_argument("--bind", action="append", required=True)
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--count", type=int, default=1)
    a.add_argument("--timeout", type=float, default=10.0)
    b = sub.add_parser("send")
    b.add_argument("--src", required=True)
    b.add_argument("--src-port", type=int, required=True)
    b.add_argument("--dst", required=True)
    b.add_argument("--dst-port", type=int, required=True)
    b.add_argument("--size", type=int, default=4000)
    b.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args()
    return serve(args) if args.cmd == "serve" else send(args)


if __name__ == "__main__":
    sys.exit(main())
