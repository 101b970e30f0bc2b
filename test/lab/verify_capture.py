#!/usr/bin/env python3
"""Check a recorded capture against its *.expected.json, using tshark as the independent reader.

    verify_capture.py EXPECTED.json CAPTURE

Exit 0 when every statement in the expected file holds, 1 with one line per mismatch otherwise.
Checks: file format / link type / timestamp resolution from the file header; correct IP, TCP and
UDP checksums (no offload artefacts); that each listed
conversation is present (by transport, client ip:port, server ip:port); its TCP end state in
Zeek's terms where the file asserts one (S0, REJ, SF); the TLS, HTTP, DNS, NTP, SSH, RDP, banner,
ICMP and fragment facts it lists; and that every TCP/UDP packet belongs to a listed conversation
(ARP, neighbour discovery and MLD may appear as "incidental"). When the expected file names a
"copyOf" or "sameTrafficAs" capture (looked up beside CAPTURE), also that the two hold the same
frames: every byte, and timestamps equal to the microsecond.

This is a recording-time check for fixtures/record.sh, not a project test: it deliberately reads
the files with tshark, not with our own code.
"""
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile

FIELDS = [
    "frame.number", "frame.time_epoch", "frame.len",
    "arp.opcode",
    "ip.src", "ip.dst", "ip.id", "ip.flags.mf", "ip.frag_offset",
    "ipv6.src", "ipv6.dst", "ipv6.fraghdr.ident", "ipv6.fraghdr.offset", "ipv6.fraghdr.more",
    "ip.checksum.status", "tcp.checksum.status", "udp.checksum.status",
    "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin",
    "tcp.flags.reset", "tcp.len", "tcp.payload", "tcp.segment.count",
    "udp.srcport", "udp.dstport", "udp.length",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
    "tls.handshake.type", "tls.handshake.version", "tls.handshake.extensions.supported_version",
    "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
    "x509sat.uTF8String", "x509sat.printableString", "x509ce.dNSName", "x509ce.iPAddress",
    "http.request.method", "http.request.uri", "http.response.code",
    "dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.flags.rcode", "dns.a", "dns.aaaa",
    "ntp.flags.vn", "ntp.flags.mode", "ntp.stratum",
    "ssh.protocol",
    "rdp.rt_cookie", "rdp.negReq.requestedProtocols", "rdp.negReq.selectedProtocol",
]
AGG = "\x1f"  # separator between multiple occurrences of one field in a frame

TLS_VERSIONS = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2",
                0x0304: "TLS 1.3"}
DNS_TYPES = {"1": "A", "28": "AAAA", "5": "CNAME", "16": "TXT"}
DNS_RCODES = {"0": "NOERROR", "2": "SERVFAIL", "3": "NXDOMAIN", "5": "REFUSED"}
LINKTYPE_NAMES = {1: "ETHERNET", 113: "LINUX_SLL", 276: "LINUX_SLL2"}


def read_header(path: str) -> dict:
    """Format, link type and timestamp resolution, from the file's own header (pcap or pcapng)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(4096)
    magic = head[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        le = magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack("<I" if le else ">I", head[20:24])[0] & 0x0FFFFFFF
        return {"format": "pcap", "linkType": linktype,
                "timestampResolution": "nanosecond" if nano else "microsecond"}
    if magic == b"\x0a\x0d\x0d\x0a":
        le = head[8:12] == b"\x4d\x3c\x2b\x1a"
        e = "<" if le else ">"
        off = struct.unpack(e + "I", head[4:8])[0]  # skip the SHB
        if len(head) < off + 8:
            return {"format": "pcapng", "linkType": None, "timestampResolution": None}
        btype, blen = struct.unpack(e + "II", head[off:off + 8])
        if btype != 1:
            return {"format": "pcapng", "linkType": None, "timestampResolution": None}
        linktype = struct.unpack(e + "H", head[off + 8:off + 10])[0]
        res = "microsecond"
        p, end = off + 16, off + blen - 4
        while p + 4 <= end:
            code, olen = struct.unpack(e + "HH", head[p:p + 4])
            if code == 0:
                break
            if code == 9 and olen >= 1:  # if_tsresol
                v = head[p + 4]
                res = {6: "microsecond", 9: "nanosecond"}.get(v, f"tsresol {v}")
            p += 4 + ((olen + 3) & ~3)
        return {"format": "pcapng", "linkType": linktype, "timestampResolution": res}
    return {"format": "unknown", "linkType": None, "timestampResolution": None}


def tshark_frames(path: str, decode_as: list) -> list:
    cmd = ["tshark", "-r", path, "-n", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", f"aggregator={AGG}"]
    for d in decode_as:
        cmd += ["-d", d]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    frames = []
    for line in out.splitlines():
        vals = line.split("\t")
        fr = {}
        for name, v in zip(FIELDS, vals):
            fr[name] = v.split(AGG) if v != "" else []
        frames.append(fr)
    return frames


def first(fr: dict, name: str):
    v = fr.get(name) or []
    return v[0] if v else None


def tls_version_name(v: str) -> str:
    n = int(v, 16)
    if (n & 0x0F0F) == 0x0A0A:
        return ""  # GREASE
    return TLS_VERSIONS.get(n, f"0x{n:04x}")


def best_version(values: list) -> str | None:
    nums = [int(v, 16) for v in values if (int(v, 16) & 0x0F0F) != 0x0A0A]
    return TLS_VERSIONS.get(max(nums), hex(max(nums))) if nums else None


class Conv:
    def __init__(self, spec: dict):
        self.spec = spec
        self.frames_c = []  # sent by client
        self.frames_s = []  # sent by server
        self.icmp = []  # (frame, type, code, sender-ip)
        self.frag_groups = []


def endpoints(fr: dict):
    """(transport, src ip, src port, dst ip, dst port) of a frame's outermost TCP/UDP header."""
    if fr["ip.src"]:
        src, dst = fr["ip.src"][0], fr["ip.dst"][0]
    elif fr["ipv6.src"]:
        src, dst = fr["ipv6.src"][0], fr["ipv6.dst"][0]
    else:
        return None
    if fr["tcp.srcport"]:
        return ("tcp", src, int(fr["tcp.srcport"][0]), dst, int(fr["tcp.dstport"][0]))
    if fr["udp.srcport"]:
        return ("udp", src, int(fr["udp.srcport"][0]), dst, int(fr["udp.dstport"][0]))
    return None


def zeek_state(c: Conv) -> str:
    """Zeek conn_state for the cases this file may assert (base/protocols/conn/main.zeek)."""
    def has(frames, **flags):
        return any(all(first(f, "tcp.flags." + k) == ("1" if v else "0") for k, v in flags.items())
                   for f in frames)
    syn = has(c.frames_c, syn=True, ack=False)
    synack = has(c.frames_s, syn=True, ack=True)
    rst_c = has(c.frames_c, reset=True)
    rst_s = has(c.frames_s, reset=True)
    fin_c = has(c.frames_c, fin=True)
    fin_s = has(c.frames_s, fin=True)
    if syn and not c.frames_s and not rst_c:
        return "S0"
    if syn and not synack and rst_s:
        return "REJ"
    if syn and synack and fin_c and fin_s and not rst_c and not rst_s:
        return "SF"
    parts = [n for n, b in (("syn", syn), ("synack", synack), ("fin_c", fin_c), ("fin_s", fin_s),
                            ("rst_c", rst_c), ("rst_s", rst_s)) if b]
    return "other(" + ",".join(parts) + ")"


def check_tls(c: Conv, exp: dict, errs: list, label: str):
    ch = [f for f in c.frames_c if "1" in f["tls.handshake.type"]]
    sh = [f for f in c.frames_s if "2" in f["tls.handshake.type"]]
    if not ch:
        errs.append(f"{label}: no TLS ClientHello")
        return
    ch = ch[0]
    sni = first(ch, "tls.handshake.extensions_server_name")
    if sni != exp.get("sni"):
        errs.append(f"{label}: SNI {sni!r}, expected {exp.get('sni')!r}")
    alpn = ch["tls.handshake.extensions_alpn_str"]
    if alpn != exp.get("alpn", []):
        errs.append(f"{label}: ALPN offered {alpn}, expected {exp.get('alpn')}")
    sv = ch["tls.handshake.extensions.supported_version"]
    hv = [v for v in ch["tls.handshake.version"]]
    cv = best_version(sv) if sv else best_version(hv[:1])
    if "clientVersion" in exp and cv != exp["clientVersion"]:
        errs.append(f"{label}: client version {cv}, expected {exp['clientVersion']}")
    if exp.get("clientHelloSpansSegments") is not None:
        segs = int(first(ch, "tcp.segment.count") or "1")
        if (segs > 1) != exp["clientHelloSpansSegments"]:
            errs.append(f"{label}: ClientHello in {segs} segment(s)")
    if not sh:
        errs.append(f"{label}: no ServerHello")
        return
    sh = sh[0]
    ssv = sh["tls.handshake.extensions.supported_version"]
    v = best_version(ssv) if ssv else best_version(sh["tls.handshake.version"][:1])
    if v != exp.get("version"):
        errs.append(f"{label}: server chose {v}, expected {exp.get('version')}")
    sel = first(sh, "tls.handshake.extensions_alpn_str")
    want_sel = exp.get("alpnSelected") if exp.get("alpnSelectedInClear") else None
    if sel != want_sel:
        errs.append(f"{label}: ALPN selected in clear {sel!r}, expected {want_sel!r}")
    cert = exp.get("certificate")
    names = [x for f in c.frames_s for x in f["x509sat.uTF8String"] + f["x509sat.printableString"]]
    dns = [x for f in c.frames_s for x in f["x509ce.dNSName"]]
    if cert and cert.get("inClear"):
        if cert["subjectCN"] not in names:
            errs.append(f"{label}: certificate CN {cert['subjectCN']} not seen (saw {names})")
        for san in cert.get("san", []):
            kind, _, val = san.partition(":")
            if kind == "DNS" and val not in dns:
                errs.append(f"{label}: SAN {san} not seen (saw {dns})")
    elif cert and names:
        errs.append(f"{label}: certificate visible although expected encrypted: {names}")


def check_conv(c: Conv, errs: list):
    s = c.spec
    label = f"{s['id']} {s['transport']} {s['client']['ip']}:{s['client']['port']}->" \
            f"{s['server']['ip']}:{s['server']['port']}"
    if not c.frames_c:
        errs.append(f"{label}: no packet from the client")
        return
    if s["transport"] == "tcp" and s.get("state"):
        st = zeek_state(c)
        if st != s["state"]:
            errs.append(f"{label}: state {st}, expected {s['state']}")
    if s.get("tls"):
        check_tls(c, s["tls"], errs, label)
    if s.get("http"):
        h = s["http"]
        meth = [x for f in c.frames_c for x in f["http.request.method"]]
        uri = [x for f in c.frames_c for x in f["http.request.uri"]]
        code = [x for f in c.frames_s for x in f["http.response.code"]]
        if meth[:1] != [h["method"]] or uri[:1] != [h["path"]] or code[:1] != [str(h["status"])]:
            errs.append(f"{label}: http {meth} {uri} {code}, expected {h}")
    if s.get("dns") is not None:
        seen = []
        for f in c.frames_s:
            if first(f, "dns.flags.response") == "1":
                seen.append({"name": first(f, "dns.qry.name"),
                             "type": DNS_TYPES.get(first(f, "dns.qry.type"), first(f, "dns.qry.type")),
                             "rcode": DNS_RCODES.get(first(f, "dns.flags.rcode"), first(f, "dns.flags.rcode")),
                             "answers": f["dns.a"] + f["dns.aaaa"]})
        if seen != s["dns"]:
            errs.append(f"{label}: dns answers {seen}, expected {s['dns']}")
    if s.get("ntp"):
        n = s["ntp"]
        cm = [first(f, "ntp.flags.mode") for f in c.frames_c if f["ntp.flags.mode"]]
        sm = [first(f, "ntp.flags.mode") for f in c.frames_s if f["ntp.flags.mode"]]
        vn = [first(f, "ntp.flags.vn") for f in c.frames_c if f["ntp.flags.vn"]]
        if cm[:1] != [str(n["clientMode"])] or sm[:1] != [str(n["serverMode"])] or vn[:1] != [str(n["version"])]:
            errs.append(f"{label}: ntp modes client {cm} server {sm} version {vn}, expected {n}")
        st = [first(f, "ntp.stratum") for f in c.frames_s if f["ntp.stratum"]]
        if "serverStratum" in n and st[:1] != [str(n["serverStratum"])]:
            errs.append(f"{label}: ntp server stratum {st}, expected {n['serverStratum']}")
    if s.get("ssh"):
        sp = [x for f in c.frames_s for x in f["ssh.protocol"]]
        cp = [x for f in c.frames_c for x in f["ssh.protocol"]]
        if not sp or not sp[0].startswith(s["ssh"]["serverStartsWith"]):
            errs.append(f"{label}: ssh server identification {sp}")
        if not cp or not cp[0].startswith(s["ssh"]["clientStartsWith"]):
            errs.append(f"{label}: ssh client identification {cp}")
    if s.get("rdp"):
        r = s["rdp"]
        cookie = [x for f in c.frames_c for x in f["rdp.rt_cookie"]]
        req = [x for f in c.frames_c for x in f["rdp.negReq.requestedProtocols"]]
        sel = [x for f in c.frames_s for x in f["rdp.negReq.selectedProtocol"]]
        if not cookie or r["cookie"] not in cookie[0]:
            errs.append(f"{label}: rdp cookie {cookie}")
        if not req or int(req[0], 0) != r["requestedProtocols"]:
            errs.append(f"{label}: rdp requestedProtocols {req}")
        if not sel or int(sel[0], 0) != r["selectedProtocol"]:
            errs.append(f"{label}: rdp selectedProtocol {sel}")
    if s.get("banner"):
        b = s["banner"]
        frames = c.frames_s if b["from"] == "server" else c.frames_c
        data = [bytes.fromhex(first(f, "tcp.payload").replace(":", "")) for f in frames if f["tcp.payload"]]
        got = data[0].decode("latin-1") if data else ""
        if not got.startswith(b["startsWith"]):
            errs.append(f"{label}: first {b['from']} bytes {got[:60]!r}")
        if b.get("text") is not None and got.split("\r\n")[0] + "\r\n" != b["text"]:
            errs.append(f"{label}: banner line {got!r}, expected {b['text']!r}")
    want_icmp = s.get("icmp")
    if want_icmp:
        got = [(t, cd, snd) for _, t, cd, snd in c.icmp]
        if (want_icmp["type"], want_icmp["code"], s["server"]["ip"]) not in got:
            errs.append(f"{label}: icmp {got}, expected {want_icmp}")
    elif c.icmp:
        errs.append(f"{label}: unexpected icmp {c.icmp}")
    if s.get("fragments"):
        fr = s["fragments"]
        sizes = [len(g["frames"]) for g in c.frag_groups if g["from_client"]]
        lengths = [g["udp_length"] for g in c.frag_groups if g["from_client"]]
        if sizes[:1] != [fr["count"]] or lengths[:1] != [fr["udpLength"]]:
            errs.append(f"{label}: client datagram in {sizes} fragments, udp length {lengths}; "
                        f"expected {fr}")


def compare_frames(a: str, b: str, exact_time: bool, errs: list):
    """Same frames in both files, byte for byte (tcpdump -xx). For a copy, timestamps must be equal
    to the microsecond; for a capture taken at the same time by a second tcpdump they may differ a
    little, because each packet socket stamps received packets itself: within 1 ms is accepted."""
    def dump(p, flag):
        if p.endswith(".gz"):  # libpcap does not read gzip; tshark does, tcpdump needs it plain
            with tempfile.NamedTemporaryFile(suffix=".pcap") as t:
                t.write(gzip.open(p, "rb").read())
                t.flush()
                return dump(t.name, flag)
        cmd = ["tcpdump", "-r", p, "-n", flag, "-xx", "--time-stamp-precision=micro"]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    def first_diff(x, y):
        return next((i for i, (u, v) in enumerate(zip(x, y)) if u != v), min(len(x), len(y))) + 1
    da, db = dump(a, "-t"), dump(b, "-t")  # -t: no timestamps
    if da != db:
        errs.append(f"frames differ from {a} at tcpdump output line {first_diff(da, db)}")
        return
    ta = [ln.split(" ", 1)[0] for ln in dump(a, "-tt") if not ln.startswith("\t")]
    tb = [ln.split(" ", 1)[0] for ln in dump(b, "-tt") if not ln.startswith("\t")]
    for i, (x, y) in enumerate(zip(ta, tb), 1):
        if (exact_time and x != y) or abs(float(x) - float(y)) > 0.001:
            errs.append(f"frame {i}: time {y} vs {x} in {a}")
            return


def main() -> int:
    exp_path, cap = sys.argv[1], sys.argv[2]
    exp = json.load(open(exp_path))
    errs = []
    other = exp.get("copyOf") or exp.get("sameTrafficAs")

    hdr = read_header(cap)
    for k in ("format", "linkType", "timestampResolution"):
        if hdr[k] != exp[k]:
            errs.append(f"{k} {hdr[k]}, expected {exp[k]}")
    if (cap.endswith(".gz")) != (exp.get("compression") == "gzip"):
        errs.append("compression does not match the file name")

    frames = tshark_frames(cap, [])
    if exp.get("tsharkDecodeAs"):
        # A second pass with the decode-as rules (TLS after a banner or after X.224); its TLS and
        # certificate fields are added to the first pass, which keeps the RDP/banner fields.
        for fr, fr2 in zip(frames, tshark_frames(cap, exp["tsharkDecodeAs"])):
            for k, v in fr2.items():
                if (k.startswith("tls.") or k.startswith("x509")) and not fr[k]:
                    fr[k] = v
    convs = [Conv(s) for s in exp["conversations"]]

    def find(transport, a, ap, b, bp):
        for c in convs:
            s = c.spec
            cl, sv = (s["client"]["ip"], s["client"]["port"]), (s["server"]["ip"], s["server"]["port"])
            if s["transport"] != transport:
                continue
            if (a, ap) == cl and (b, bp) == sv:
                return c, True
            if (a, ap) == sv and (b, bp) == cl:
                return c, False
        return None, None

    incidental = set(exp.get("incidental", []))
    frag = {}  # (ver, src, dst, ident) -> group
    for fr in frames:
        num = int(fr["frame.number"][0])
        # Wireshark's checksum status: 0 bad, 1 good, 2 not checked. Offloads leave bad ones.
        for k in ("ip.checksum.status", "tcp.checksum.status", "udp.checksum.status"):
            if "0" in fr[k]:
                errs.append(f"frame {num}: bad {k.split('.')[0]} checksum")
        # Fragments: group by IP ID (IPv4) or fragment-header ident (IPv6); Wireshark puts the
        # reassembled UDP header on the last fragment only.
        fkey = None
        if fr["ip.src"] and (first(fr, "ip.flags.mf") == "1" or (first(fr, "ip.frag_offset") or "0") != "0"):
            fkey = (4, fr["ip.src"][0], fr["ip.dst"][0], first(fr, "ip.id"))
        elif fr["ipv6.fraghdr.ident"]:
            fkey = (6, fr["ipv6.src"][0], fr["ipv6.dst"][0], first(fr, "ipv6.fraghdr.ident"))
        if fkey:
            g = frag.setdefault(fkey, {"frames": [], "conv": None, "from_client": None, "udp_length": None})
            g["frames"].append(num)
        icmp_t = first(fr, "icmp.type") or first(fr, "icmpv6.type")
        icmp_c = first(fr, "icmp.code") or first(fr, "icmpv6.code")
        if icmp_t in ("3", "1") and (fr["udp.srcport"] or fr["tcp.srcport"]) and (
                len(fr["ip.src"]) > 1 or len(fr["ipv6.src"]) > 1):
            # An ICMP error quoting one of our datagrams: outer sender, inner 5-tuple.
            ips = fr["ip.src"] if fr["ip.src"] else fr["ipv6.src"]
            dsts = fr["ip.dst"] if fr["ip.dst"] else fr["ipv6.dst"]
            tr = "udp" if fr["udp.srcport"] else "tcp"
            ports = fr[tr + ".srcport"], fr[tr + ".dstport"]
            c, _ = find(tr, ips[1], int(ports[0][0]), dsts[1], int(ports[1][0]))
            if c is None:
                errs.append(f"frame {num}: ICMP about a conversation not in the expected file")
            else:
                c.icmp.append((num, int(icmp_t), int(icmp_c), ips[0]))
            continue
        ep = endpoints(fr)
        if ep is None:
            if fkey:
                continue
            if fr["arp.opcode"] and "arp" in incidental:
                continue
            if icmp_t and fr["icmpv6.type"] and int(icmp_t) in (133, 134, 135, 136) and "icmpv6-nd" in incidental:
                continue
            if icmp_t and fr["icmpv6.type"] and int(icmp_t) in (130, 131, 132, 143) and "mld" in incidental:
                continue
            errs.append(f"frame {num}: not part of any expected conversation")
            continue
        c, from_client = find(*ep)
        if c is None:
            errs.append(f"frame {num}: {ep} is not an expected conversation")
            continue
        (c.frames_c if from_client else c.frames_s).append(fr)
        if fkey:
            g = frag[fkey]
            g["conv"], g["from_client"] = c, from_client
            g["udp_length"] = int(first(fr, "udp.length") or 0)
    for g in frag.values():
        if g["conv"] is None:
            errs.append(f"fragments {g['frames']} not reassembled into an expected conversation")
        else:
            g["conv"].frag_groups.append(g)
    for c in convs:
        check_conv(c, errs)
    if other:
        compare_frames(os.path.join(os.path.dirname(cap), other), cap, bool(exp.get("copyOf")), errs)
    for e in errs:
        print(f"{cap}: {e}")
    if not errs:
        print(f"{cap}: ok ({len(frames)} frames, {len(convs)} conversations)")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
