/**
 * Builds fixtures/hostile/hostile.pcap byte by byte: conversations whose wire strings try to
 * inject terminal escapes, HTML and Markdown into our reports (fixtures/hostile/README.md lists
 * them). The golden test checks that the committed file equals buildHostilePcap(), and
 * `npm run test:update` writes it again, so the file and this script cannot drift apart.
 *
 * Layouts: pcap file header and records (draft-ietf-opsawg-pcap §4-5), Ethernet II, IPv4
 * (RFC 791 §3.1), TCP (RFC 9293 §3.1), UDP (RFC 768), TLS 1.2 records and ClientHello (RFC 5246
 * §6.2.1, §7.4.1.2), server_name (RFC 6066 §3), ALPN (RFC 7301 §3.1), supported_versions (RFC 8446
 * §4.2.1), DNS (RFC 1035 §4.1), TPKT (RFC 1006 §6) and X.224 Connection Request with an RDP
 * cookie and RDP_NEG_REQ ([MS-RDPBCGR] 2.2.1.1).
 */

export const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0) & 0xff);
const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
const u24 = (v: number): number[] => [(v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const u16le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const u32le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** RFC 1071 Internet checksum over `bytes`. */
function checksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const ip = (last: number): number[] => [10, 66, 0, last];

// ---------------------------------------------------------------------------------------------
// The strings the capture carries (also read by the tests, which check none survives raw).

export const HOSTILE = {
  sni: "<script>alert(1)</script>.example",
  alpn: ["h2|x", "`rm -rf /`", "](javascript:alert(1))"],
  /** Sent by a server on TCP 2121: a clear-screen CSI, an OSC window title ended by BEL. */
  banner: "220-\x1b[2J\x1b]0;pwned\x07 Welcome <b>friend</b> | `id`",
  authdBanner: "220 VMware Authentication Daemon Version 1.10: <img src=x onerror=alert(1)> SSL Required",
  authdClient: "USER \x1b[31mroot</td>|",
  httpHost: "evil|host\x1b[31m",
  httpUri: "/<script>x</script>?a=|b",
  httpServer: "<iframe src=//evil>",
  dnsLabels: ["<b>x</b>|y", "\x1b[5m", "example"],
  sshServer: "SSH-2.0-Evil_<img/src=x>|`id`",
  sshClient: "SSH-2.0-\x1b]0;pwned\x07client",
  rdpCookie: "Cookie: mstshash=<i>|x\x07",
} as const;

// ---------------------------------------------------------------------------------------------
// Layers.

/** Ethernet II header: destination, source, EtherType 0x0800 (IPv4). */
function ethernet(fromClient: boolean): number[] {
  const a = [0x02, 0, 0, 0, 0, 0x01]; // locally administered MAC of the client side
  const b = [0x02, 0, 0, 0, 0, 0x02]; // and of the server side (its router, as seen on the wire)
  return [...(fromClient ? b : a), ...(fromClient ? a : b), ...u16(0x0800)];
}

/** IPv4 header (20 bytes, no options) with a correct header checksum. */
function ipv4(src: number[], dst: number[], protocol: number, payloadLength: number, id: number): number[] {
  const h = [
    0x45, // Version 4, IHL 5 (20 bytes)
    0x00, // DSCP/ECN
    ...u16(20 + payloadLength), // Total Length
    ...u16(id), // Identification
    ...u16(0x4000), // Flags DF, Fragment Offset 0
    64, // TTL
    protocol, // Protocol: 6 TCP, 17 UDP
    0, 0, // Header Checksum, filled below
    ...src, // Source Address
    ...dst, // Destination Address
  ];
  const c = checksum(h);
  h[10] = c >>> 8;
  h[11] = c & 0xff;
  return h;
}

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

/** TCP header (20 bytes, no options) and payload, checksum over the RFC 9293 §3.1 pseudo-header. */
function tcp(src: number[], dst: number[], sport: number, dport: number, seq: number, ack: number, flags: number, data: number[]): number[] {
  const h = [
    ...u16(sport), // Source Port
    ...u16(dport), // Destination Port
    ...u32(seq), // Sequence Number
    ...u32(ack), // Acknowledgment Number
    0x50, // Data Offset 5 (20 bytes), reserved bits 0
    flags, // Flags
    ...u16(65535), // Window
    0, 0, // Checksum, filled below
    ...u16(0), // Urgent Pointer
  ];
  const seg = [...h, ...data];
  const pseudo = [...src, ...dst, 0, 6, ...u16(seg.length)];
  const c = checksum([...pseudo, ...seg]);
  seg[16] = c >>> 8;
  seg[17] = c & 0xff;
  return seg;
}

/** UDP header and payload, checksum over the RFC 768 pseudo-header. */
export function udp(src: number[], dst: number[], sport: number, dport: number, data: number[]): number[] {
  const seg = [...u16(sport), ...u16(dport), ...u16(8 + data.length), 0, 0, ...data];
  const c = checksum([...src, ...dst, 0, 17, ...u16(seg.length), ...seg]) || 0xffff;
  seg[6] = c >>> 8;
  seg[7] = c & 0xff;
  return seg;
}

// ---------------------------------------------------------------------------------------------
// Payloads.

/** A TLS 1.2 record carrying one ClientHello with SNI, ALPN and supported_versions. */
export function clientHello(sni: string, alpn: readonly string[]): number[] {
  const name = ascii(sni);
  const serverName = [
    ...u16(name.length + 3), // ServerNameList length
    0x00, // NameType host_name
    ...u16(name.length), // HostName length
    ...name,
  ];
  const protocols = alpn.flatMap((p) => [p.length, ...ascii(p)]); // ProtocolName: u8 length + bytes
  const alpnExt = [...u16(protocols.length), ...protocols]; // ProtocolNameList length
  const versions = [4, ...u16(0x0304), ...u16(0x0303)]; // list length 4: TLS 1.3, TLS 1.2
  const ext = (type: number, body: number[]) => [...u16(type), ...u16(body.length), ...body];
  const extensions = [...ext(0x0000, serverName), ...ext(0x0010, alpnExt), ...ext(0x002b, versions)];
  const body = [
    ...u16(0x0303), // legacy_version TLS 1.2
    ...Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff), // random (fixed, for a stable file)
    0x00, // legacy_session_id length 0
    ...u16(6), // cipher_suites length: three suites
    ...u16(0x1301), // TLS_AES_128_GCM_SHA256
    ...u16(0xc02f), // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    ...u16(0x009c), // TLS_RSA_WITH_AES_128_GCM_SHA256
    0x01, 0x00, // compression_methods: one, null
    ...u16(extensions.length), // extensions length
    ...extensions,
  ];
  const handshake = [0x01, ...u24(body.length), ...body]; // HandshakeType client_hello, length
  return [0x16, ...u16(0x0301), ...u16(handshake.length), ...handshake]; // ContentType handshake, record version, length
}

/** A TLS alert record: fatal (2) handshake_failure (40). */
export const ALERT_HANDSHAKE_FAILURE = [0x15, ...u16(0x0303), ...u16(2), 0x02, 40];

/** A DNS message with one question (QTYPE A, QCLASS IN); a response when `rcode` is given. */
export function dns(id: number, labels: readonly string[], rcode?: number): number[] {
  const qname = [...labels.flatMap((l) => [l.length, ...ascii(l)]), 0x00]; // labels, then the root
  const flags = rcode === undefined ? 0x0100 : 0x8180 | rcode; // RD; or QR RD RA + RCODE
  return [
    ...u16(id), // ID
    ...u16(flags), // flags
    ...u16(1), // QDCOUNT
    ...u16(0), // ANCOUNT
    ...u16(0), // NSCOUNT
    ...u16(0), // ARCOUNT
    ...qname,
    ...u16(1), // QTYPE A
    ...u16(1), // QCLASS IN
  ];
}

/** TPKT + X.224 Connection Request with a routing cookie line and an RDP_NEG_REQ asking for TLS. */
export function rdpConnectionRequest(cookie: string): number[] {
  const x224 = [
    0xe0, // CR CDT: Connection Request
    ...u16(0), // DST-REF
    ...u16(0), // SRC-REF
    0x00, // CLASS OPTION
    ...ascii(cookie + "\r\n"), // routingToken/cookie, ended by CR LF
    0x01, // RDP_NEG_REQ type
    0x00, // flags
    ...u16le(8), // length 8
    ...u32le(0x00000003), // requestedProtocols: PROTOCOL_SSL | PROTOCOL_HYBRID
  ];
  const tpduWithLi = [x224.length, ...x224]; // LI: length of the header after this byte
  return [0x03, 0x00, ...u16(4 + tpduWithLi.length), ...tpduWithLi]; // TPKT version 3, reserved, length
}

// ---------------------------------------------------------------------------------------------
// Conversations.

interface Frame {
  data: number[];
}

export class Builder {
  frames: Frame[] = [];
  private ipId = 1;

  add(fromClient: boolean, src: number[], dst: number[], proto: number, l4: number[]): void {
    this.frames.push({ data: [...ethernet(fromClient), ...ipv4(src, dst, proto, l4.length, this.ipId++), ...l4] });
  }

  /**
   * One TCP connection: handshake, then each message in turn (true = from the client), then FIN
   * both ways. Sequence numbers advance by the bytes sent, so the flow layer sees no gap.
   */
  tcpConversation(c: number[], cport: number, s: number[], sport: number, messages: [boolean, number[]][], close = true): void {
    let cseq = 1000;
    let sseq = 5000;
    this.add(true, c, s, 6, tcp(c, s, cport, sport, cseq, 0, SYN, []));
    this.add(false, s, c, 6, tcp(s, c, sport, cport, sseq, cseq + 1, SYN | ACK, []));
    cseq++;
    sseq++;
    this.add(true, c, s, 6, tcp(c, s, cport, sport, cseq, sseq, ACK, []));
    for (const [fromClient, data] of messages) {
      if (fromClient) {
        this.add(true, c, s, 6, tcp(c, s, cport, sport, cseq, sseq, PSH | ACK, data));
        cseq += data.length;
      } else {
        this.add(false, s, c, 6, tcp(s, c, sport, cport, sseq, cseq, PSH | ACK, data));
        sseq += data.length;
      }
    }
    if (!close) return;
    this.add(true, c, s, 6, tcp(c, s, cport, sport, cseq, sseq, FIN | ACK, []));
    this.add(false, s, c, 6, tcp(s, c, sport, cport, sseq, cseq + 1, FIN | ACK, []));
    this.add(true, c, s, 6, tcp(c, s, cport, sport, cseq + 1, sseq + 1, ACK, []));
  }
}

/** The whole capture: pcap (little-endian, microseconds, LINKTYPE_ETHERNET), one record per frame. */
export function buildHostilePcap(): Uint8Array {
  const b = new Builder();
  const proxy = ip(10);
  const crlf = (s: string) => ascii(s + "\r\n");

  // 1. TLS to 443: hostile SNI and ALPN; the server answers with a fatal alert.
  b.tcpConversation(proxy, 40001, ip(20), 443, [
    [true, clientHello(HOSTILE.sni, HOSTILE.alpn)],
    [false, ALERT_HANDSHAKE_FAILURE],
  ]);
  // 2. The same ClientHello to 8443 (no matrix row: listed with its details); no answer.
  b.tcpConversation(proxy, 40002, ip(21), 8443, [[true, clientHello(HOSTILE.sni, HOSTILE.alpn)]]);
  // 3. An authd-like greeting on 902 with an HTML payload, then a plain-text login attempt.
  b.tcpConversation(proxy, 40003, ip(30), 902, [
    [false, crlf(HOSTILE.authdBanner)],
    [true, crlf(HOSTILE.authdClient)],
  ]);
  // 4. A server banner with ESC sequences on 2121.
  b.tcpConversation(proxy, 40004, ip(40), 2121, [[false, crlf(HOSTILE.banner)]]);
  // 5. Plain HTTP on 443 (where TLS is required) with a hostile Host, URI and Server.
  const request = crlf(`GET ${HOSTILE.httpUri} HTTP/1.1`).concat(crlf(`Host: ${HOSTILE.httpHost}`), crlf("User-Agent: x"), crlf(""));
  const response = crlf("HTTP/1.1 200 OK").concat(crlf(`Server: ${HOSTILE.httpServer}`), crlf("Content-Length: 0"), crlf(""));
  b.tcpConversation(proxy, 40005, ip(50), 443, [
    [true, request],
    [false, response],
  ]);
  // 6. The same request on 8080.
  b.tcpConversation(proxy, 40006, ip(51), 8080, [
    [true, request],
    [false, response],
  ]);
  // 7. SSH identification strings with HTML and an OSC sequence, on 2222.
  b.tcpConversation(proxy, 40007, ip(60), 2222, [
    [false, crlf(HOSTILE.sshServer)],
    [true, crlf(HOSTILE.sshClient)],
  ]);
  // 8. An RDP Connection Request with a hostile cookie on 3389; no answer.
  b.tcpConversation(proxy, 40008, ip(70), 3389, [[true, rdpConnectionRequest(HOSTILE.rdpCookie)]], false);
  // 9. A DNS query for a name whose labels hold HTML, "|" and ESC, answered NXDOMAIN.
  b.add(true, proxy, ip(53), 17, udp(proxy, ip(53), 40009, 53, dns(0x4242, HOSTILE.dnsLabels)));
  b.add(false, ip(53), proxy, 17, udp(ip(53), proxy, 53, 40009, dns(0x4242, HOSTILE.dnsLabels, 3)));

  return pcapFile(b);
}

/** A pcap file (little-endian, microseconds, LINKTYPE_ETHERNET) of the builder's frames, one per millisecond. */
export function pcapFile(b: Builder): Uint8Array {
  const header = [
    ...u32le(0xa1b2c3d4), // Magic Number (microsecond timestamps), little-endian
    ...u16le(2), // Major Version
    ...u16le(4), // Minor Version
    ...u32le(0), // Reserved1
    ...u32le(0), // Reserved2
    ...u32le(65535), // SnapLen
    ...u32le(1), // LinkType: LINKTYPE_ETHERNET
  ];
  const records = b.frames.flatMap((f, i) => [
    ...u32le(1700000000), // Timestamp seconds: 2023-11-14T22:13:20Z
    ...u32le(i * 1000), // Timestamp microseconds: one frame per millisecond
    ...u32le(f.data.length), // Captured Packet Length
    ...u32le(f.data.length), // Original Packet Length
    ...f.data,
  ]);
  return Uint8Array.from([...header, ...records]);
}
