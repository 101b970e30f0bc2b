#!/usr/bin/env python3
"""RDP connection-sequence probe: X.224 Connection Request, read the Confirm, then TLS.

    rdp_probe.py --src ADDR --src-port P --dst ADDR [--dst-port 3389] [--cookie NAME]
                 [--protocols 3] [--timeout S]

Sends the first PDU of MS-RDPBCGR 1.3.1.1 "Connection Initiation" (section 2.2.1.1):
TPKT header (RFC 1006 / T.123), X.224 Connection Request TPDU (X.224 section 13.3), the cookie
"Cookie: mstshash=NAME\\r\\n" and an RDP_NEG_REQ (2.2.1.1.1) asking for --protocols
(PROTOCOL_SSL 0x1 | PROTOCOL_HYBRID 0x2 = 3 by default). If the server's RDP_NEG_RSP selects
PROTOCOL_SSL or PROTOCOL_HYBRID, a TLS handshake follows on the same TCP connection (no SNI,
no certificate check), then close_notify and close. Prints what it saw, one fact per line.
"""
import argparse
import socket
import ssl
import struct
import sys


def recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def connection_request(cookie: str, protocols: int) -> bytes:
    token = f"Cookie: mstshash={cookie}\r\n".encode("ascii")
    # RDP_NEG_REQ: type 0x01, flags 0, length 8 (LE16), requestedProtocols (LE32).
    neg_req = struct.pack("<BBHI", 0x01, 0x00, 8, protocols)
    # X.224 CR TPDU fixed part: CR|CDT = 0xE0, DST-REF 0, SRC-REF 0, class 0.
    fixed = struct.pack(">BHHB", 0xE0, 0, 0, 0)
    body = fixed + token + neg_req
    li = len(body)  # length indicator counts the header after the LI byte itself
    tpdu = bytes([li]) + body
    # TPKT: version 3, reserved 0, total length (BE16) including these 4 bytes.
    return struct.pack(">BBH", 3, 0, 4 + len(tpdu)) + tpdu


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--src", required=True)
    p.add_argument("--src-port", type=int, required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--dst-port", type=int, default=3389)
    p.add_argument("--cookie", default="pnc-rec")
    p.add_argument("--protocols", type=int, default=3)
    p.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args()

    fam = socket.AF_INET6 if ":" in args.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.src, args.src_port))
    s.settimeout(args.timeout)
    s.connect((args.dst, args.dst_port))
    s.sendall(connection_request(args.cookie, args.protocols))

    version, _, length = struct.unpack(">BBH", recv_exact(s, 4))
    if version != 3 or length < 11:
        print(f"not a TPKT answer: version {version} length {length}")
        s.close()
        return 1
    tpdu = recv_exact(s, length - 4)
    code = tpdu[1] & 0xF0
    print(f"x224 code 0x{code:02x}")
    selected = None
    if len(tpdu) >= 7 + 8:
        ntype, flags, nlen, value = struct.unpack("<BBHI", tpdu[7:15])
        if ntype == 0x02:
            selected = value
            print(f"neg_rsp selectedProtocol {value} flags 0x{flags:02x}")
        elif ntype == 0x03:
            print(f"neg_failure code {value}")
    if selected not in (1, 2):
        s.close()
        return 0

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    t = ctx.wrap_socket(s, server_hostname=None)
    print(f"tls {t.version()} {t.cipher()[0]}")
    try:
        raw = t.unwrap()
        raw.close()
    except (ssl.SSLError, OSError) as e:
        print(f"tls close: {e}")
        t.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
