/**
 * NetBIOS name service over UDP (RFC 1002 §4.2), as its own protocol `nbns` — its header is
 * DNS's, so the DNS probe took it for DNS (issue 18); the encoded NetBIOS name tells them apart.
 *
 *   header (§4.2.1.1): NAME_TRN_ID u16 | R(1) OPCODE(4) NM_FLAGS(7) RCODE(4) | QDCOUNT | ANCOUNT |
 *                      NSCOUNT | ARCOUNT   (12 bytes, DNS's layout)
 *     OPCODE 0 query, 5 registration, 6 release, 7 WACK, 8 refresh (8 and 9 both seen)
 *   name (§4.1, RFC 1001 §14.1): one label of 32 bytes, each half-byte of the 16-byte NetBIOS
 *     name as 'A' + nibble (so 'A'…'P'), then the scope's labels and a 0 byte (or a pointer)
 *   question (§4.2.1.2): name | QUESTION_TYPE (0x0020 NB, 0x0021 NBSTAT) | QUESTION_CLASS 0x0001
 *   RR (§4.2.1.3): name | RR_TYPE (0x0020, 0x0021, 0x0001 A, 0x0002 NS, 0x000A NULL) | class 1 | …
 *
 * The 32-letter label is a strong signature (16^32 spellings of 'A'–'P' only), so the probe is
 * trusted on any port. Facts go in `dns` ({queries, rcodes}): the decoded names as
 * "NAME<xx>" (the 15-character name without its padding, and the suffix byte in hex — <00>
 * workstation, <20> file server, <1d> master browser) and the RCODE names.
 */
import { Cursor } from "../bytes/cursor.js";
import { RCODE_NAMES } from "./dns.js";
import { firstBytes } from "./text.js";
import type { ConversationFacts, Detector, ProbeResult, StreamSample } from "./types.js";

export const NBNS_PORT = 137;
const HEADER = 12;
const ENCODED = 32;
const OPCODES = new Set([0, 5, 6, 7, 8, 9]);
const TYPES = new Set([0x0020, 0x0021, 0x0001, 0x0002, 0x000a]);
const MAX_DATAGRAMS = 32;
const MAX_NAMES = 32;

/**
 * The first question's (or RR's) name at the cursor (at byte 12): 32 bytes of first-level
 * encoding (RFC 1001 §14.1, 'A'..'P'), then the scope's labels up to a 0 byte or a pointer
 * (RFC 1002 §4.1). True when it is one and its type and class (4 bytes) follow; the cursor is
 * then at the type.
 */
function skipName(c: Cursor): boolean {
  if (c.left < 1 + ENCODED + 1 + 4 || c.u8() !== ENCODED) return false;
  for (let i = 0; i < ENCODED; i++) {
    const x = c.u8();
    if (x < 0x41 || x > 0x50) return false;
  }
  for (let len = c.peek(); len > 0; len = c.peek()) {
    if ((len & 0xc0) === 0xc0) return c.skip(2) && c.left >= 4;
    if (len > 63 || !c.skip(1 + len)) return false;
  }
  return c.skip(1) && c.left >= 4;
}

/** Is this datagram a NetBIOS name service message (RFC 1002 §4.2.1 header, then a name of the types in use)? */
export function looksLikeNbns(d: Uint8Array): boolean {
  const c = new Cursor(d);
  if (c.left < HEADER) return false;
  c.skip(2); // NAME_TRN_ID
  const flags = c.u16(); // R OPCODE(4) NM_FLAGS(7) RCODE(4)
  if (!OPCODES.has((flags >> 11) & 0x0f)) return false;
  const qd = c.u16();
  const an = c.u16();
  const ns = c.u16();
  const ar = c.u16();
  if (qd > 1 || an > 16 || ns > 16 || ar > 1 || qd + an === 0) return false;
  return skipName(c) && TYPES.has(c.u16()) && c.u16() === 1;
}

/** "NAME<xx>" from the 32 encoded bytes at `p` (RFC 1001 §14.1 first-level encoding). */
export function netbiosName(d: Uint8Array, p: number): string {
  const c = new Cursor(d, p);
  let name = "";
  let suffix = 0;
  for (let i = 0; i < 16; i++) {
    const x = ((c.u8() - 0x41) << 4) | (c.u8() - 0x41);
    if (i === 15) suffix = x;
    else name += x >= 0x21 && x < 0x7f ? String.fromCharCode(x) : x === 0x20 ? " " : "\\x" + x.toString(16).padStart(2, "0");
  }
  return `${name.trimEnd()}<${suffix.toString(16).padStart(2, "0")}>`;
}

function probe(s: StreamSample): ProbeResult {
  const f = s.transport === "udp" ? firstBytes(s) : null; // the first datagram with data
  return f !== null && looksLikeNbns(f.bytes) ? "match" : "no";
}

function analyze(s: StreamSample, out: ConversationFacts): void {
  const dns: NonNullable<ConversationFacts["dns"]> = { queries: [], rcodes: [], answers: [] };
  out.dns = dns;
  let n = 0;
  for (const d of s.datagrams) {
    if (n++ >= MAX_DATAGRAMS) break;
    const b = d.data;
    if (!looksLikeNbns(b)) {
      if (b.length > 0) out.anomalies.push({ name: "nbns_bad_message", message: `${d.fromClient ? "client" : "server"} datagram in frame ${d.frame} is not a NetBIOS name service message`, direction: d.fromClient ? "client" : "server", frame: d.frame });
      continue;
    }
    const name = netbiosName(b, HEADER + 1);
    if (!dns.queries.includes(name) && dns.queries.length < MAX_NAMES) dns.queries.push(name);
    const flags = new Cursor(b, 2).u16();
    if ((flags & 0x8000) !== 0) {
      // R set: a response, with its RCODE (RFC 1002 §4.2.1.1).
      const rcode = RCODE_NAMES[flags & 0x0f] ?? String(flags & 0x0f);
      if (!dns.rcodes.includes(rcode)) dns.rcodes.push(rcode);
    }
  }
}

export const nbnsDetector: Detector = {
  protocol: "nbns",
  transports: ["udp"],
  ports: [NBNS_PORT],
  byContent: true,
  probe,
  analyze,
};
