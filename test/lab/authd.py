#!/usr/bin/env python3
"""A stand-in for VMware's authd on 902: a banner line in clear, then TLS on the same socket.

    authd.py serve --bind ADDR [--port 902] --cert PEM --key PEM [--count 1] [--timeout S]
                   [--tls-max 1.2]
    authd.py client --src ADDR --src-port P --dst ADDR [--dst-port 902] [--sni NAME]
                    [--timeout S]

The server sends BANNER (what ESXi's authd sends, including its odd "/t"), then waits for a
ClientHello and completes TLS. Inside TLS the client sends "QUIT\\r\\n" and the server answers
"221 Goodbye\\r\\n"; both then exchange close_notify and close. Everything is bounded by
--timeout. openssl s_client cannot read a banner before starting TLS, hence Python's ssl.
"""
import argparse
import socket
import ssl
import sys

BANNER = (
    b"220 VMware Authentication Daemon Version 1.10: SSL Required, "
    b"ServerDaemonProtocol:SOAP, MKSDisplayProtocol:VNC , VMXARGS supported, "
    b"NFCSSL supported/t\r\n"
)

TLS_MAX = {"1.0": ssl.TLSVersion.TLSv1, "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def serve(args: argparse.Namespace) -> int:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.maximum_version = TLS_MAX[args.tls_max]
    fam = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.bind, args.port))
    ls.listen(4)
    ls.settimeout(args.timeout)
    for _ in range(args.count):
        conn, _peer = ls.accept()
        conn.settimeout(args.timeout)
        conn.sendall(BANNER)
        t = ctx.wrap_socket(conn, server_side=True)
        line = t.recv(256)
        if line.strip().upper() == b"QUIT":
            t.sendall(b"221 Goodbye\r\n")
        try:
            t.unwrap().close()
        except (ssl.SSLError, OSError):
            t.close()
    ls.close()
    return 0


def client(args: argparse.Namespace) -> int:
    fam = socket.AF_INET6 if ":" in args.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.src, args.src_port))
    s.settimeout(args.timeout)
    s.connect((args.dst, args.dst_port))
    banner = b""
    while not banner.endswith(b"\r\n") and len(banner) < 1024:
        chunk = s.recv(1)  # byte by byte so no TLS byte is read by accident
        if not chunk:
            break
        banner += chunk
    print(banner.decode("latin-1").rstrip())
    if not banner.startswith(b"220 "):
        s.close()
        return 1
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname=args.sni or None)
    print(f"tls {t.version()} {t.cipher()[0]}")
    t.sendall(b"QUIT\r\n")
    print(t.recv(256).decode("latin-1").rstrip())
    try:
        t.unwrap().close()
    except (ssl.SSLError, OSError):
        t.close()
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("serve")
    a.add_argument("--bind", required=True)
    a.add_argument("--port", type=int, default=902)
    a.add_argument("--cert", required=True)
    a.add_argument("--key", required=True)
    a.add_argument("--count", type=int, default=1)
    a.add_argument("--timeout", type=float, default=10.0)
    a.add_argument("--tls-max", choices=sorted(TLS_MAX), default="1.2")
    b = sub.add_parser("client")
    b.add_argument("--src", required=True)
    b.add_argument("--src-port", type=int, required=True)
    b.add_argument("--dst", required=True)
    b.add_argument("--dst-port", type=int, default=902)
    b.add_argument("--sni", default="")
    b.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args()
    return serve(args) if args.cmd == "serve" else client(args)


if __name__ == "__main__":
    sys.exit(main())
