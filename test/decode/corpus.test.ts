/**
 * The decoder against tshark 4.0 on the public capture corpus: for every capture, the TCP and UDP
 * conversations built from decodePacket + hasTransport (frames, bytes, first and last frame per
 * 5-tuple) must equal the oracle's, which tshark computed from tcp.stream / udp.stream. This checks
 * link types, VLANs, IPv4/IPv6 fragment reassembly (a datagram counts on the frame that completed
 * it), snaplen-cut headers, Ethernet padding and ICMP errors' quoted headers on real traffic.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DecodeContext, decodePacket, hasTransport } from "../../src/decode/decode.js";
import { record } from "./build.js";
import { quotedTransportBytes } from "../../src/decode/icmp.js";
import { DecodedPacket, IPPROTO_TCP, IPPROTO_UDP } from "../../src/decode/packet.js";
import { Status } from "../../src/decode/status.js";
import { readCaptureFile } from "./capture-file.js";

if (!existsSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../shared/captures"))) {
  console.warn("../shared/captures not found beside the checkout: decoder corpus test skipped");
}

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../../shared/captures");
const dirs = ["public", "ja4"].map((d) => path.join(root, d)).filter((d) => existsSync(d));
const files = dirs.flatMap((d) =>
  readdirSync(d)
    .filter((f) => /\.(pcap|pcapng|cap)$/.test(f) && existsSync(path.join(d, f + ".tshark.json")))
    .sort()
    .map((f) => path.join(d, f)),
);

interface Conv {
  frames: number;
  bytes: number;
  first: number;
  last: number;
}

function addr(b: Uint8Array, v: number): string {
  if (v === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  // Full hex groups: only used as a key, compared with the oracle's after the same expansion.
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] << 8) | b[i + 1]).toString(16));
  return g.join(":");
}

/** Expand a textual IPv6 address (RFC 5952 form) to 8 full groups, as addr() prints. */
function expand(a: string): string {
  if (!a.includes(":")) return a;
  const [head, tail] = a.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const zeros = tail !== undefined ? new Array(8 - h.length - t.length).fill("0") : [];
  return [...h, ...zeros, ...t].map((x) => parseInt(x, 16).toString(16)).join(":");
}

function key(proto: string, a: string, ap: number, b: string, bp: number): string {
  const x = `${a}|${ap}`;
  const y = `${b}|${bp}`;
  return x < y ? `${proto} ${x} ${y}` : `${proto} ${y} ${x}`;
}

function add(m: Map<string, Conv>, k: string, frames: number, bytes: number, first: number, last: number): void {
  const c = m.get(k);
  if (c === undefined) m.set(k, { frames, bytes, first, last });
  else {
    c.frames += frames;
    c.bytes += bytes;
    c.first = Math.min(c.first, first);
    c.last = Math.max(c.last, last);
  }
}

describe.skipIf(files.length === 0)(`capture corpus (${root}) vs tshark conversations`, () => {
  it.each(files)("%s", (file) => {
    const oracle = JSON.parse(readFileSync(file + ".tshark.json", "utf8"));
    const records = readCaptureFile(new Uint8Array(readFileSync(file)));
    const p = new DecodedPacket();
    const ctx = new DecodeContext();
    const ours = new Map<string, Conv>();
    let threw = 0;
    for (const r of records) {
      if (r.frame > oracle.frame_count) break; // tshark stopped there (damaged file)
      let status: Status;
      try {
        status = decodePacket(record(r.data, r.caplen, r.origLen, r.linkType, r.tsSec), p, ctx);
      } catch {
        threw++;
        continue;
      }
      expect(p.status).toBe(status);
      if (hasTransport(p)) {
        const proto = p.ipProto === IPPROTO_TCP ? "tcp" : "udp";
        add(ours, key(proto, addr(p.srcIp, p.ipVersion), p.srcPort, addr(p.dstIp, p.ipVersion), p.dstPort), 1, r.origLen, r.frame, r.frame);
      } else if (status === Status.OK && p.hasQuoted && (p.quotedProto === IPPROTO_TCP || p.quotedProto === IPPROTO_UDP)) {
        // tshark dissects the packet an ICMP error quotes and gives the ICMP frame that
        // conversation's tcp.stream / udp.stream, so the oracle counts it there (its -z conv
        // tables do not). Whether our conversations count it is the flow layer's choice; here it
        // checks the quoted fields against tshark's on real traffic. tshark needs as many quoted
        // transport bytes as for a packet of its own: 16 for TCP, the 8-byte header for UDP.
        if (quotedTransportBytes(p) < (p.quotedProto === IPPROTO_TCP ? 16 : 8)) continue;
        const proto = p.quotedProto === IPPROTO_TCP ? "tcp" : "udp";
        const v = p.quotedIpVersion;
        add(ours, key(proto, addr(p.quotedSrcIp, v), p.quotedSrcPort, addr(p.quotedDstIp, v), p.quotedDstPort), 1, r.origLen, r.frame, r.frame);
      }
    }
    expect(threw).toBe(0);

    const theirs = new Map<string, Conv>();
    for (const proto of ["tcp", "udp"] as const) {
      for (const c of oracle.conversations?.[proto] ?? []) {
        add(theirs, key(proto, expand(c.a), c.a_port, expand(c.b), c.b_port), c.frames_a_to_b + c.frames_b_to_a, c.bytes_a_to_b + c.bytes_b_to_a, c.first_frame, c.last_frame);
      }
    }
    const sorted = (m: Map<string, Conv>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    expect(sorted(ours)).toEqual(sorted(theirs));
  });
});
