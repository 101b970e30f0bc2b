/**
 * DNS over UDP and TCP (RFC 1035; over TCP each message has a 2-byte length prefix, RFC 1035
 * §4.2.2 / RFC 7766).
 *
 *   header (§4.1.1): ID u16 | QR Opcode(4) AA TC RD | RA Z AD CD RCODE(4) | QDCOUNT | ANCOUNT |
 *                    NSCOUNT | ARCOUNT   (12 bytes)
 *   question (§4.1.2): QNAME | QTYPE u16 | QCLASS u16
 *   RR (§4.1.3):     NAME | TYPE | CLASS | TTL u32 | RDLENGTH u16 | RDATA
 *   names (§4.1.4):  labels (length 1–63, then bytes) ending in a 0 byte, or a 2-byte pointer
 *                    (top bits 11) to a prior occurrence in the message.
 *
 * Name reading is bounded and loop-safe: every pointer must point before the segment it is read
 * from (a "prior occurrence"), so each jump goes strictly backwards and the walk ends; a pointer
 * into the name being read is a loop, a pointer ahead of itself is reported as forward.
 *
 * The shape is checked strictly (opcode, Z bit, counts, a question that parses, a known class),
 * but a 12-byte header is still a weak signature: byContent is false, so DNS is tried on 53 and
 * 5353 (and the client port) with the usual detectors, elsewhere only after every strong probe.
 */
import { formatIp } from "../decode/index.js";
import { Cursor } from "../bytes/cursor.js";
import type { Anomaly, ConversationFacts, Detector, Direction, ProbeResult, StreamSample } from "./types.js";

export const DNS_PORTS: readonly number[] = [53, 5353];
const HEADER = 12;
/** RFC 1035 §2.3.4: 63 octets a label, 255 a name (length octets included). */
const MAX_LABEL = 63;
const MAX_NAME = 255;
/** Work bounds per message and per conversation. */
const MAX_QUESTIONS = 32;
const MAX_RRS = 256;
const MAX_MESSAGES = 64;
const MAX_QUERIES_KEPT = 32;
const MAX_ANSWERS_KEPT = 32;
const MAX_HOPS = 128;
/** A UDP datagram at least this long may have been cut by the sampler, so running out is not reported. */
const UDP_PLAIN_MAX = 512;

/** RCODE names (RFC 1035 §4.1.1, RFC 2136, RFC 8490; 16+ need the EDNS OPT RR, RFC 6891). */
export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
  6: "YXDOMAIN",
  7: "YXRRSET",
  8: "NXRRSET",
  9: "NOTAUTH",
  10: "NOTZONE",
  11: "DSOTYPENI",
  16: "BADVERS",
  17: "BADKEY",
  18: "BADTIME",
  19: "BADMODE",
  20: "BADNAME",
  21: "BADALG",
  22: "BADTRUNC",
  23: "BADCOOKIE",
};

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

/** Where a name ends and what it says; `error` names the anomaly when it could not be read. */
export interface NameResult {
  name: string;
  /** Offset just after the name in the place it started (after the first pointer, if any). */
  next: number;
  error: string | null;
  detail: string;
}

/** One label's bytes as presentation text (RFC 4343 style: "\." and "\DDD" for the rest). */
function labelText(b: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c === 0x2e || c === 0x5c) s += "\\" + String.fromCharCode(c);
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += "\\" + c.toString().padStart(3, "0");
  }
  return s;
}

/**
 * Reads the (possibly compressed) name at `pos` of the message b[msgStart, msgEnd). Never reads
 * outside that range; ends after at most MAX_HOPS pointers even if the checks below were wrong.
 */
export function readName(b: Uint8Array, msgStart: number, msgEnd: number, pos: number): NameResult {
  const end = Math.min(msgEnd, b.length);
  // A compression pointer moves the cursor back to a prior occurrence (reset within the message).
  const c = new Cursor(b, pos, end);
  const labels: string[] = [];
  let p = c.pos;
  let next = -1;
  let wire = 0;
  let segStart = pos;
  const fail = (error: string, detail: string): NameResult => ({ name: labels.join(".") || ".", next: next >= 0 ? next : p, error, detail });
  for (let hops = 0; ; ) {
    p = c.pos;
    const len = c.u8();
    if (len < 0) return fail("dns_name_truncated", `name at byte ${pos - msgStart} runs past the end of the message (${end - msgStart} bytes)`);
    if (len === 0) {
      if (next < 0) next = c.pos;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      const low = c.u8();
      if (low < 0) return fail("dns_name_truncated", `compression pointer at byte ${p - msgStart} is cut by the end of the message`);
      const target = ((len & 0x3f) << 8) | low;
      const abs = msgStart + target;
      if (next < 0) next = c.pos;
      if (++hops > MAX_HOPS) return fail("dns_name_pointer_loop", `name at byte ${pos - msgStart} follows more than ${MAX_HOPS} compression pointers`);
      if (abs >= end) return fail("dns_name_pointer_out_of_bounds", `compression pointer at byte ${p - msgStart} points to ${target}, past the message's ${end - msgStart} bytes`);
      if (abs >= segStart) {
        // RFC 1035 §4.1.4: a pointer refers to a *prior* occurrence. Pointing into the segment
        // being read (itself included) would walk the same bytes forever.
        if (abs <= p) return fail("dns_name_pointer_loop", `compression pointer at byte ${p - msgStart} points back to ${target}, inside the same name: a loop`);
        return fail("dns_name_pointer_forward", `compression pointer at byte ${p - msgStart} points forward to ${target}, not to a prior occurrence`);
      }
      segStart = abs;
      c.reset(b, abs, end);
      continue;
    }
    if (kind !== 0) {
      return fail("dns_bad_label_type", `label at byte ${p - msgStart} has type bits 0x${kind.toString(16)} (only 00 and 11 are defined)`);
    }
    // kind 0 means len ≤ 63 already; the check guards the constant against edits.
    if (len > MAX_LABEL) return fail("dns_bad_label_type", `label at byte ${p - msgStart} is ${len} bytes long`);
    if (len > c.left) return fail("dns_name_truncated", `label at byte ${p - msgStart} of ${len} bytes runs past the end of the message`);
    wire += 1 + len;
    if (wire + 1 > MAX_NAME) return fail("dns_name_too_long", `name at byte ${pos - msgStart} is longer than ${MAX_NAME} bytes`);
    labels.push(labelText(b, c.pos, c.pos + len));
    c.skip(len);
  }
  return { name: labels.length > 0 ? labels.join(".") : ".", next, error: null, detail: "" };
}

/** Plausible QCLASS/CLASS values: IN, CH, HS, NONE, ANY; mDNS sets the top bit (QU / cache-flush). */
function plausibleClass(c: number): boolean {
  const v = c & 0x7fff;
  return v === 1 || v === 3 || v === 4 || v === 254 || v === 255;
}

/**
 * Checks a message's shape for the probe: "match", "prefix" (too few bytes to tell yet) or "no".
 */
export function plausibleMessage(b: Uint8Array, start: number, end: number): "match" | "prefix" | "no" {
  const e = Math.min(end, b.length);
  const m = new Cursor(b, start, e);
  if (m.left < HEADER) return "prefix";
  m.skip(2); // ID
  const flags = m.u16();
  const qr = flags >> 15;
  const opcode = (flags >> 11) & 0xf;
  const rcode = flags & 0xf;
  if (opcode === 3 || opcode > 6) return "no"; // 3 unassigned, 7–15 unassigned
  if (flags & 0x0040) return "no"; // Z must be zero (RFC 1035 §4.1.1)
  const qd = m.u16();
  const an = m.u16();
  const ns = m.u16();
  const ar = m.u16();
  if (qd > MAX_QUESTIONS || an > MAX_RRS || ns > MAX_RRS || ar > MAX_RRS) return "no";
  if (qr === 0 && (rcode !== 0 || qd === 0 || an > 64 || ar > 16)) return "no";
  if (qd === 0 && an === 0 && ns === 0) return "no";
  // The first question (or, in an mDNS answer with none, the first RR) must parse.
  const n = readName(b, start, e, m.pos);
  if (n.error === "dns_name_truncated") return "prefix";
  if (n.error !== null) return "no";
  m.skip(n.next - m.pos);
  // QTYPE, QCLASS (§4.1.2) — or TYPE, CLASS of the first RR (§4.1.3).
  const type = m.u16();
  const cls = m.u16();
  if (!m.ok) return "prefix";
  if (type === 0 || !plausibleClass(cls)) return "no";
  return "match";
}

function probe(s: StreamSample): ProbeResult {
  if (s.transport === "udp") {
    for (const d of s.datagrams) {
      if (d.data.length === 0) continue;
      return plausibleMessage(d.data, 0, d.data.length) === "match" ? "match" : "no";
    }
    return "no";
  }
  // TCP: the first message of whichever side spoke (the client, normally).
  const sides: [Uint8Array, boolean][] = [
    [s.client, s.clientDone],
    [s.server, s.serverDone],
  ];
  for (const [b, done] of sides) {
    if (b.length === 0) {
      if (!done) return "more";
      continue;
    }
    if (b.length < 2) return done ? "no" : "more";
    const len = new Cursor(b).u16(); // RFC 1035 §4.2.2: the two-byte length prefix
    if (len < HEADER) return "no";
    const st = plausibleMessage(b, 2, 2 + len);
    if (st === "prefix") return done || b.length >= 2 + len ? "no" : "more";
    return st;
  }
  return "no";
}

interface Where {
  dir: Direction;
  frame?: number;
  /** Offset of the message within its side's stream (TCP), for anomaly offsets. */
  base: number;
}

/** Parses one message fully; adds its question names and rcode to `dns`, anomalies to `out`. */
function parseMessage(
  b: Uint8Array,
  start: number,
  end: number,
  reportTruncation: boolean,
  w: Where,
  out: ConversationFacts,
  dns: NonNullable<ConversationFacts["dns"]>,
  once: Set<string>,
): void {
  const push = (name: string, message: string, at: number): void => {
    if (once.has(name)) return;
    once.add(name);
    const a: Anomaly = { name, message: w.frame !== undefined ? `${message} (frame ${w.frame})` : message, direction: w.dir, offset: w.base + (at - start) };
    if (w.frame !== undefined) a.frame = w.frame;
    out.anomalies.push(a);
  };
  const e = Math.min(end, b.length);
  const m = new Cursor(b, start, e);
  if (m.left < HEADER) {
    if (reportTruncation) push("dns_short_message", `${w.dir} DNS message is ${e - start} bytes, shorter than the 12-byte header`, start);
    return;
  }
  m.skip(2); // ID
  const flags = m.u16();
  const qr = flags >> 15;
  let rcode = flags & 0xf;
  if (flags & 0x0040) push("dns_z_bit_set", `${w.dir} DNS message has the reserved Z bit set (flags 0x${flags.toString(16).padStart(4, "0")})`, start + 2);
  const qd = m.u16();
  const rrs = m.u16() + m.u16() + m.u16(); // ANCOUNT + NSCOUNT + ARCOUNT

  let ok = true;
  for (let i = 0; i < qd && i < MAX_QUESTIONS; i++) {
    const p = m.pos;
    const n = readName(b, start, e, p);
    if (n.error !== null) {
      if (n.error !== "dns_name_truncated" || reportTruncation) push(n.error, `${w.dir} question ${i + 1}: ${n.detail}`, p);
      ok = false;
      break;
    }
    m.skip(n.next - p);
    if (!m.skip(4)) {
      // QTYPE, QCLASS
      if (reportTruncation) push("dns_message_truncated", `${w.dir} question ${i + 1} ends at byte ${n.next - start} without its type and class (message is ${e - start} bytes)`, n.next);
      ok = false;
      break;
    }
    if (dns.queries.length < MAX_QUERIES_KEPT && !dns.queries.includes(n.name)) dns.queries.push(n.name);
  }
  // Walk the RRs only to find the OPT RR (type 41), whose TTL carries the upper 8 bits of an
  // extended RCODE (RFC 6891 §6.1.3), and to see the counts fit the message.
  for (let i = 0; ok && i < rrs && i < MAX_RRS; i++) {
    const p = m.pos;
    const n = readName(b, start, e, p);
    if (n.error !== null) {
      if (n.error !== "dns_name_truncated" || reportTruncation) push(n.error, `${w.dir} record ${i + 1}: ${n.detail}`, p);
      ok = false;
      break;
    }
    m.skip(n.next - p);
    if (m.left < 10) {
      if (reportTruncation) push("dns_message_truncated", `${w.dir} record ${i + 1} header runs past the ${e - start}-byte message (counts say ${qd} questions and ${rrs} records)`, n.next);
      ok = false;
      break;
    }
    const type = m.u16();
    m.skip(2); // CLASS
    const ttlHigh = m.u8(); // the OPT RR's extended RCODE
    m.skip(3);
    const rdlen = m.u16();
    if (type === 41) rcode |= ttlHigh << 4;
    // A (RFC 1035 §3.4.1) and AAAA (RFC 3596 §2.2) answers: which address a name stands for,
    // the evidence role inference reads ("vcenter.corp" is 10.0.0.20).
    if (qr === 1 && ((type === 1 && rdlen === 4) || (type === 28 && rdlen === 16)) && rdlen <= m.left && dns.answers.length < MAX_ANSWERS_KEPT) {
      const ip = new Uint8Array(16);
      ip.set(m.buf.subarray(m.pos, m.pos + rdlen));
      const address = formatIp(ip, type === 1 ? 4 : 6);
      if (!dns.answers.some((a) => a.name === n.name && a.address === address)) dns.answers.push({ name: n.name, address });
    }
    if (!m.skip(rdlen)) {
      if (reportTruncation) push("dns_message_truncated", `${w.dir} record ${i + 1} data (${rdlen} bytes) runs past the ${e - start}-byte message`, n.next + 8);
      ok = false;
      break;
    }
  }
  if (qr === 1) {
    const name = rcodeName(rcode);
    if (!dns.rcodes.includes(name)) dns.rcodes.push(name);
  }
}

function analyze(s: StreamSample, out: ConversationFacts): void {
  const dns: NonNullable<ConversationFacts["dns"]> = { queries: [], rcodes: [], answers: [] };
  out.dns = dns;
  const once = new Set<string>();
  if (s.transport === "udp") {
    let n = 0;
    for (const d of s.datagrams) {
      if (d.data.length === 0) continue;
      if (++n > MAX_MESSAGES) break;
      parseMessage(d.data, 0, d.data.length, d.data.length < UDP_PLAIN_MAX, { dir: d.fromClient ? "client" : "server", frame: d.frame, base: 0 }, out, dns, once);
    }
    return;
  }
  const sides: [Uint8Array, Direction][] = [
    [s.client, "client"],
    [s.server, "server"],
  ];
  for (const [b, dir] of sides) {
    const c = new Cursor(b);
    for (let n = 0; n < MAX_MESSAGES && c.left >= 2; n++) {
      const at = c.pos;
      const len = c.u16(); // RFC 1035 §4.2.2 length prefix
      const start = c.pos;
      const end = start + len;
      if (len < HEADER) {
        const a: Anomaly = { name: "dns_tcp_length_too_short", message: `${dir} DNS/TCP length prefix ${len} at byte ${at} is shorter than the 12-byte header`, direction: dir, offset: at };
        if (!once.has(a.name)) {
          once.add(a.name);
          out.anomalies.push(a);
        }
        break;
      }
      // A message cut by the end of the kept bytes (16 KiB cap, capture end) is read as far as it
      // goes without calling that malformed.
      parseMessage(b, start, Math.min(end, b.length), end <= b.length, { dir, base: start }, out, dns, once);
      if (!c.skip(len)) break;
    }
  }
}

export const dnsDetector: Detector = {
  protocol: "dns",
  transports: ["udp", "tcp"],
  ports: DNS_PORTS,
  byContent: false,
  probe,
  analyze,
};
