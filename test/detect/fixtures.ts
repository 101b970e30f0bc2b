/**
 * Valid payloads for the detector tests, built byte by byte with a comment per field. The
 * per-detector tests check what the detectors make of them; the property test cuts and mutates
 * every one of them.
 */
import { bytes, u16be, u16le, u24be, u32be, u32le, zeros } from "./sample.js";

// ---------------------------------------------------------------------------------------------
// TLS hellos (RFC 5246 §7.4.1.2 / §7.4.1.3), just enough for analyzeTls to find them.
// ---------------------------------------------------------------------------------------------

export function clientHello(sni: string): Uint8Array {
  const name = bytes(sni);
  const sniExt = bytes(
    u16be(0x0000), // extension type: server_name (RFC 6066 §3)
    u16be(name.length + 5), // extension_data length
    u16be(name.length + 3), // ServerNameList length
    0x00, // NameType host_name
    u16be(name.length), // HostName length
    name, // HostName
  );
  const body = bytes(
    0x03, 0x03, // client_version: TLS 1.2
    new Array<number>(32).fill(0x11), // random
    0x00, // session_id length 0
    u16be(2), // cipher_suites length
    u16be(0xc02f), // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    0x01, // compression_methods length
    0x00, // null compression
    u16be(sniExt.length), // extensions length
    sniExt,
  );
  return bytes(
    0x16, // record content type: handshake
    0x03, 0x01, // record version TLS 1.0 (what most clients put on the first record)
    u16be(body.length + 4), // record length
    0x01, // handshake type: client_hello
    u24be(body.length), // handshake length
    body,
  );
}

export function serverHello(): Uint8Array {
  const body = bytes(
    0x03, 0x03, // server_version: TLS 1.2
    new Array<number>(32).fill(0x22), // random
    0x00, // session_id length 0
    u16be(0xc02f), // cipher_suite chosen
    0x00, // compression_method null
    u16be(0), // extensions length 0
  );
  return bytes(
    0x16, // handshake
    0x03, 0x03, // record version TLS 1.2
    u16be(body.length + 4), // record length
    0x02, // handshake type: server_hello
    u24be(body.length), // handshake length
    body,
  );
}

// ---------------------------------------------------------------------------------------------
// VMware authd (port 902)
// ---------------------------------------------------------------------------------------------

/** The greeting an ESXi 6.x/7.x authd sends, verbatim (including the odd " , " and "/t"). */
export const AUTHD_LINE =
  "220 VMware Authentication Daemon Version 1.10: SSL Required, ServerDaemonProtocol:SOAP, MKSDisplayProtocol:VNC , VMXARGS supported, NFCSSL supported/t";
export const authdBanner = bytes(AUTHD_LINE, "\r\n");

// ---------------------------------------------------------------------------------------------
// SSH identification strings (RFC 4253 §4.2)
// ---------------------------------------------------------------------------------------------

export const SSH_CLIENT_LINE = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6"; // "SSH-" proto "-" software SP comments
export const SSH_SERVER_LINE = "SSH-2.0-OpenSSH_7.4";
export const sshClient = bytes(SSH_CLIENT_LINE, "\r\n");
/** Server identification followed by the start of its binary KEXINIT packet (RFC 4253 §6). */
export const sshServer = bytes(
  SSH_SERVER_LINE, "\r\n",
  u32be(0x000003c4), // packet_length
  0x07, // padding_length
  0x14, // SSH_MSG_KEXINIT
  new Array<number>(16).fill(0x5a), // cookie
);

// ---------------------------------------------------------------------------------------------
// RDP: X.224 Connection Request / Confirm (MS-RDPBCGR §2.2.1.1, §2.2.1.2)
// ---------------------------------------------------------------------------------------------

export const RDP_COOKIE = "Cookie: mstshash=administrator\r\n"; // 32 bytes
/** CR with a mstshash cookie and RDP_NEG_REQ asking for SSL | HYBRID | HYBRID_EX. */
export const rdpRequest = bytes(
  0x03, // TPKT version 3
  0x00, // TPKT reserved
  u16be(51), // TPKT length: 4 + 7 + 32 + 8
  46, // X.224 length indicator: 51 − 5
  0xe0, // CR (1110) with CDT 0
  u16be(0), // DST-REF
  u16be(0), // SRC-REF
  0x00, // class 0, no options
  RDP_COOKIE,
  0x01, // RDP_NEG_REQ type
  0x00, // flags
  u16le(8), // length 8
  u32le(0x0000000b), // requestedProtocols: SSL (1) | HYBRID (2) | HYBRID_EX (8)
);

/** CC with RDP_NEG_RSP (type 2) or RDP_NEG_FAILURE (type 3) carrying `value`. */
export function rdpConfirm(type: number, value: number): Uint8Array {
  return bytes(
    0x03, 0x00, // TPKT version 3, reserved
    u16be(19), // TPKT length: 4 + 7 + 8
    14, // LI: 19 − 5
    0xd0, // CC (1101) with CDT 0
    u16be(0), // DST-REF
    u16be(0x1234), // SRC-REF (what Windows servers send)
    0x00, // class 0
    type, // RDP_NEG_RSP (2) / RDP_NEG_FAILURE (3)
    type === 2 ? 0x1f : 0x00, // flags: EXTENDED_CLIENT_DATA | GFX | reserved | RESTRICTED_ADMIN | REDIRECTED_AUTH
    u16le(8), // length 8
    u32le(value), // selectedProtocol / failureCode
  );
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 (RFC 9112)
// ---------------------------------------------------------------------------------------------

export const httpRequest = bytes(
  "GET /index.html HTTP/1.1\r\n", // request-line
  "Host: www.example.com\r\n", // Host (RFC 9112 §3.2)
  "User-Agent: curl/8.5.0\r\n",
  "Accept: */*\r\n",
  "\r\n", // end of header section
);
export const httpResponse = bytes(
  "HTTP/1.1 200 OK\r\n", // status-line
  "Server: Apache/2.4.41 (Ubuntu)\r\n",
  "Content-Length: 5\r\n",
  "\r\n",
  "hello", // body
);

// ---------------------------------------------------------------------------------------------
// NTP (RFC 5905 §7.3)
// ---------------------------------------------------------------------------------------------

/** Transmit timestamp of the client request, echoed as the reply's origin timestamp. */
const T1 = [0xe9b5c3a1, 0x12345678];

export const ntpV4Client = bytes(
  0x23, // LI 0, VN 4, Mode 3 (client)
  0x00, // stratum 0 (unspecified in a request)
  0x06, // poll 2^6 s
  0xe9, // precision 2^-23
  u32be(0), // root delay
  u32be(0), // root dispersion
  u32be(0), // reference ID
  zeros(8), // reference timestamp
  zeros(8), // origin timestamp
  zeros(8), // receive timestamp
  u32be(T1[0]), u32be(T1[1]), // transmit timestamp
);

export function ntpServerReply(first: number, stratum: number, origin: readonly number[] = T1, refid: readonly number[] = [0xc0, 0xa8, 0x00, 0x01]): Uint8Array {
  return bytes(
    first, // LI | VN | Mode
    stratum, // stratum
    0x06, // poll
    0xe9, // precision 2^-23
    u32be(0x00000123), // root delay ≈ 4.4 ms (16.16)
    u32be(0x00000456), // root dispersion ≈ 17 ms
    refid, // reference ID (upstream IPv4 address, or a kiss code at stratum 0)
    u32be(0xe9b5c000), u32be(0), // reference timestamp
    u32be(origin[0]), u32be(origin[1]), // origin timestamp = the request's transmit
    u32be(0xe9b5c3a1), u32be(0x20000000), // receive timestamp
    u32be(0xe9b5c3a1), u32be(0x20001000), // transmit timestamp
  );
}

export const ntpV4Server = ntpServerReply(0x24 /* LI 0, VN 4, Mode 4 */, 2);

/** An SNTP v3 request as ntpdate and many appliances send it: all zero but the first byte and transmit. */
export const ntpV3Client = bytes(
  0x1b, // LI 0, VN 3, Mode 3
  zeros(39), // stratum … receive timestamp, all zero
  u32be(T1[0]), u32be(T1[1]), // transmit timestamp
);
export const ntpV3Server = ntpServerReply(0x1c /* LI 0, VN 3, Mode 4 */, 1, T1, [0x47, 0x50, 0x53, 0x00] /* "GPS" */);

/** ntpq "readvar" (mode 6, RFC 9327 §2) and its response. */
export const ntpControlRequest = bytes(
  0x16, // LI 0, VN 2, Mode 6
  0x02, // R 0, E 0, M 0, opcode 2 (read variables)
  u16be(1), // sequence
  u16be(0), // status
  u16be(0), // association ID 0 = system
  u16be(0), // offset
  u16be(0), // count
);
export const ntpControlResponse = bytes(
  0x16, // LI 0, VN 2, Mode 6
  0x82, // R 1, opcode 2
  u16be(1), // sequence
  u16be(0x0615), // system status word
  u16be(0), // association ID
  u16be(0), // offset
  u16be(12), // count
  "version=4.2,", // data
);

/** ntpdc "monlist" (mode 7, request MON_GETLIST_1 = 42), the old amplification request. */
export const ntpMonlist = bytes(
  0x17, // R 0, M 0, VN 2, Mode 7
  0x00, // A 0, sequence 0
  0x03, // implementation XNTPD
  0x2a, // request code 42 MON_GETLIST_1
  u16be(0), // err 0, nitems 0
  u16be(0), // MBZ 0, itemsize 0
  zeros(40), // request data area, padding to 48 bytes
);

// ---------------------------------------------------------------------------------------------
// DNS (RFC 1035 §4.1)
// ---------------------------------------------------------------------------------------------

export const dnsQuery = bytes(
  u16be(0x1234), // ID
  u16be(0x0100), // QR 0, opcode 0 QUERY, RD 1
  u16be(1), // QDCOUNT
  u16be(0), // ANCOUNT
  u16be(0), // NSCOUNT
  u16be(0), // ARCOUNT
  3, "www", 7, "example", 3, "com", 0, // QNAME at offset 12 ("example" label at 16)
  u16be(1), // QTYPE A
  u16be(1), // QCLASS IN
);

/** Response with compression: a CNAME whose target points into the question, then an A. */
export const dnsResponse = bytes(
  u16be(0x1234), // ID
  u16be(0x8180), // QR 1, opcode 0, RD 1, RA 1, RCODE 0
  u16be(1), u16be(2), u16be(0), u16be(0), // QD 1, AN 2, NS 0, AR 0
  3, "www", 7, "example", 3, "com", 0, // QNAME (offsets 12–28)
  u16be(1), u16be(1), // QTYPE A, QCLASS IN (29–32)
  // answer 1 at 33
  0xc0, 0x0c, // NAME: pointer to 12 (www.example.com)
  u16be(5), u16be(1), // TYPE CNAME, CLASS IN
  u32be(300), // TTL
  u16be(6), // RDLENGTH
  3, "web", 0xc0, 0x10, // RDATA at 45: "web" + pointer to 16 (example.com)
  // answer 2 at 51
  0xc0, 0x2d, // NAME: pointer to 45 (web.example.com)
  u16be(1), u16be(1), // TYPE A, CLASS IN
  u32be(300), // TTL
  u16be(4), // RDLENGTH
  93, 184, 216, 34, // address
);

/** NXDOMAIN answer to a query for nope.example. */
export const dnsNxdomain = bytes(
  u16be(0x4321), // ID
  u16be(0x8183), // QR 1, RD 1, RA 1, RCODE 3 NXDOMAIN
  u16be(1), u16be(0), u16be(0), u16be(0), // QD 1
  4, "nope", 7, "example", 0, // QNAME
  u16be(28), u16be(1), // QTYPE AAAA, QCLASS IN
);

/** A question whose name is a compression pointer to itself (offset 12 → 12). */
export const dnsSelfLoop = bytes(
  u16be(0x0001), u16be(0x0100), // ID, flags (query, RD)
  u16be(1), u16be(0), u16be(0), u16be(0), // QD 1
  0xc0, 0x0c, // QNAME: pointer to offset 12, i.e. itself
  u16be(1), u16be(1), // QTYPE, QCLASS
);

/** A label followed by a pointer back to the label: a.a.a.… forever without the loop check. */
export const dnsLabelLoop = bytes(
  u16be(0x0002), u16be(0x8180), // ID, flags (response)
  u16be(1), u16be(0), u16be(0), u16be(0), // QD 1
  1, "a", // label "a" at offset 12
  0xc0, 0x0c, // pointer back to 12
  u16be(1), u16be(1), // QTYPE, QCLASS
);

/** DNS over TCP: the 2-byte length prefix (RFC 1035 §4.2.2) before each message. */
export function dnsTcp(...messages: Uint8Array[]): Uint8Array {
  return bytes(messages.map((m) => [u16be(m.length), m]));
}

// ---------------------------------------------------------------------------------------------
// DTLS (RFC 6347) and NetBIOS name service (RFC 1002 §4.2), the look-alikes of issue 18
// ---------------------------------------------------------------------------------------------

/** A DTLS record (RFC 6347 §4.1) around `fragment`. */
export function dtlsRecord(type: number, version: number, epoch: number, seq: number, fragment: Uint8Array): Uint8Array {
  return bytes(
    type, // content type: 22 handshake, 21 alert, 23 application data
    u16be(version), // version: 0xfeff DTLS 1.0, 0xfefd DTLS 1.2, 0x0100 OpenSSL pre-standard
    u16be(epoch), // epoch: 0 until the ChangeCipherSpec
    u16be(0), u16be(0), u16be(seq), // sequence_number (48 bits)
    u16be(fragment.length), // length
    fragment,
  );
}

/** A DTLS handshake message (RFC 6347 §4.2.2), unfragmented. */
export function dtlsHandshake(type: number, seq: number, body: Uint8Array): Uint8Array {
  return bytes(
    type, // msg_type: 1 client_hello, 2 server_hello, 3 hello_verify_request
    u24be(body.length), // length
    u16be(seq), // message_seq
    u24be(0), // fragment_offset
    u24be(body.length), // fragment_length = length: the whole message
    body,
  );
}

export function dtlsClientHello(sni: string, cookie: number[] = []): Uint8Array {
  const name = bytes(sni);
  const ext = bytes(
    u16be(0x0000), u16be(name.length + 5), // server_name, extension length
    u16be(name.length + 3), 0x00, u16be(name.length), name, // list length, host_name, name
  );
  return bytes(
    0xfe, 0xfd, // client_version: DTLS 1.2
    new Array(32).fill(0x33), // random
    0x00, // session_id length 0
    cookie.length, cookie, // cookie (empty on the first ClientHello, RFC 6347 §4.2.1)
    u16be(4), u16be(0xc02b), u16be(0xc02f), // cipher_suites
    0x01, 0x00, // compression_methods: null
    u16be(ext.length), ext, // extensions
  );
}

export const serverHelloBody = bytes(
  0xfe, 0xfd, // server_version: DTLS 1.2
  new Array(32).fill(0x44), // random
  0x00, // session_id length 0
  u16be(0xc02b), // cipher_suite: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  0x00, // compression_method
  u16be(0), // extensions length
);

/** "WORKGROUP" padded to 15 with spaces, suffix 0x1d, first-level encoded (RFC 1001 §14.1). */
function nbnsEncoded(name: string, suffix: number): number[] {
  const raw = [...name.padEnd(15, " ")].map((c) => c.charCodeAt(0)).concat([suffix]);
  return raw.flatMap((b) => [0x41 + (b >> 4), 0x41 + (b & 0x0f)]);
}
export const nbnsQuery = bytes(
  u16be(0x8a3c), // NAME_TRN_ID
  u16be(0x0110), // R 0, OPCODE 0 (query), NM_FLAGS: RD 1, B 1 (broadcast)
  u16be(1), u16be(0), u16be(0), u16be(0), // QDCOUNT 1, ANCOUNT, NSCOUNT, ARCOUNT
  0x20, nbnsEncoded("WORKGROUP", 0x1d), 0x00, // QUESTION_NAME: 32-byte label, empty scope
  u16be(0x0020), u16be(0x0001), // QUESTION_TYPE NB, QUESTION_CLASS IN
);
export const nbnsAnswer = bytes(
  u16be(0x8a3c), // NAME_TRN_ID
  u16be(0x8500), // R 1, OPCODE 0, AA 1, RD 1, RCODE 0
  u16be(0), u16be(1), u16be(0), u16be(0), // QDCOUNT 0, ANCOUNT 1
  0x20, nbnsEncoded("WORKGROUP", 0x1d), 0x00, // RR_NAME
  u16be(0x0020), u16be(0x0001), // RR_TYPE NB, RR_CLASS IN
  u16be(0), u16be(300), // TTL
  u16be(6), u16be(0x0000), 10, 18, 0, 9, // RDLENGTH 6: NB_FLAGS, NB_ADDRESS 10.18.0.9
);

// ---------------------------------------------------------------------------------------------
// Preambles before TLS (docs/detectors/tunnels.md): SOCKS5 (RFC 1928), PostgreSQL, LDAP StartTLS
// ---------------------------------------------------------------------------------------------

/** SOCKS5 greeting offering "no authentication" only (RFC 1928 §3). */
export const socks5Greeting = bytes(
  0x05, // VER 5
  0x01, // NMETHODS 1
  0x00, // METHOD X'00' NO AUTHENTICATION REQUIRED
);
/** The server's method selection: no authentication (§3). */
export const socks5NoAuth = bytes(
  0x05, // VER 5
  0x00, // METHOD X'00'
);
/** CONNECT to a domain name (§4). */
export const socks5ConnectDomain = bytes(
  0x05, // VER 5
  0x01, // CMD CONNECT
  0x00, // RSV
  0x03, // ATYP DOMAINNAME
  16, // name length
  "backup.druva.com", // the name, no NUL
  u16be(443), // DST.PORT
);
/** The reply (§6): succeeded, bound to 192.0.2.1:40000. */
export function socks5Reply(rep: number): Uint8Array {
  return bytes(
    0x05, // VER 5
    rep, // REP (X'00' succeeded, X'02' not allowed by ruleset, …)
    0x00, // RSV
    0x01, // ATYP IPv4
    192, 0, 2, 1, // BND.ADDR
    u16be(40000), // BND.PORT
  );
}

/** PostgreSQL SSLRequest (frontend/backend protocol, "SSL Session Encryption"). */
export const pgSslRequest = bytes(
  0x00, 0x00, 0x00, 0x08, // Int32 length 8
  0x04, 0xd2, 0x16, 0x2f, // Int32 80877103, the SSLRequest code
);

/** "1.3.6.1.4.1.1466.20037", the StartTLS requestName (RFC 4511 §4.14.1), 22 bytes. */
export const LDAP_STARTTLS_OID = "1.3.6.1.4.1.1466.20037";
/** The StartTLS ExtendedRequest as the first LDAPMessage (RFC 4511 §4.1.1, §4.12). */
export const ldapStartTlsRequest = bytes(
  0x30, 0x1d, // LDAPMessage SEQUENCE, 29 bytes
  0x02, 0x01, 0x01, // messageID INTEGER 1
  0x77, 0x18, // [APPLICATION 23] ExtendedRequest, 24 bytes
  0x80, 0x16, // requestName [0], 22 bytes
  LDAP_STARTTLS_OID,
);
/** Its ExtendedResponse ([APPLICATION 24], LDAPResult first, §4.1.9). */
export function ldapStartTlsResponse(resultCode: number): Uint8Array {
  return bytes(
    0x30, 0x0c, // LDAPMessage SEQUENCE, 12 bytes
    0x02, 0x01, 0x01, // messageID INTEGER 1
    0x78, 0x07, // [APPLICATION 24] ExtendedResponse, 7 bytes
    0x0a, 0x01, resultCode, // resultCode ENUMERATED (0 success, 2 protocolError)
    0x04, 0x00, // matchedDN ""
    0x04, 0x00, // diagnosticMessage ""
  );
}
