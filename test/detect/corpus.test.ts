/**
 * Protocol labels on the public corpus against tshark 4.0 (`streams[].detected` / `app_layers` in
 * <file>.tshark.json), for the protocols this folder detects besides TLS: SSH, HTTP, NTP, DNS, RDP, QUIC.
 *
 * Both ways: where tshark names one of them we must say the same, and where we name one tshark
 * must too, except where tshark is known to be blind (listed below with the reason and checked
 * against the stream's first payload bytes, so the exception cannot hide a wrong label).
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeFiles } from "../../src/pipeline/index.js";
import type { Protocol } from "../../src/detect/types.js";
import { corpusFiles, HAVE_PUBLIC, oracle, PUBLIC_DIR, SKIP_MESSAGE } from "../support/corpus.js";

const COMPARED = ["ssh", "http", "ntp", "dns", "rdp", "quic", "dtls", "nbns"] as const;
type Compared = (typeof COMPARED)[number];

interface OracleStream {
  stream: number;
  detected: string | null;
  app_layers: string[];
  a_first_payload_hex: string | null;
  b_first_payload_hex: string | null;
}

/** What tshark's protocol layers say in our vocabulary, for the compared protocols only. */
function tsharkLabel(s: OracleStream): Compared | null {
  const tokens = new Set(s.app_layers.flatMap((l) => l.split(":")));
  if (s.detected === "SSH" || tokens.has("ssh")) return "ssh";
  if (tokens.has("rdp") || tokens.has("rdpudp")) return "rdp"; // tpkt:cotp:rdp on TCP; rdpudp is MS-RDPEUDP
  if (tokens.has("quic") || tokens.has("gquic")) return "quic"; // IETF QUIC and Google QUIC
  if (tokens.has("http")) return "http";
  if (tokens.has("dtls")) return "dtls"; // tshark's own dissector names: "dtls" is not "tls",
  if (tokens.has("nbns")) return "nbns"; // and NetBIOS name service is "nbns", not "dns"
  if (tokens.has("ntp")) return "ntp";
  if (tokens.has("dns")) return "dns"; // "mdns" is a different token
  return null;
}

/**
 * Streams where we name a protocol tshark 4.0 does not, and why. The value is the hex prefix
 * the stream's first client payload must start with, so the exception stays honest.
 */
const TSHARK_BLIND: Record<string, { transport: "tcp" | "udp"; stream: number; protocol: Protocol; clientHex: string; why: string }[]> = {
  "ssh1-ssh2-fingerprints.pcap": [
    {
      transport: "tcp",
      stream: 1,
      protocol: "ssh",
      clientHex: Buffer.from("SSH-1.5-").toString("hex"),
      why: "SSH on port 2222: tshark's SSH dissector is bound to port 22 and shows 'data'; we match the identification line by content",
    },
  ],
};

describe.skipIf(!HAVE_PUBLIC)(`protocol labels agree with tshark on ${PUBLIC_DIR}`, () => {
  if (!HAVE_PUBLIC) it.skip(SKIP_MESSAGE, () => {});
  const agreed = new Map<Compared, number>();

  for (const file of corpusFiles(PUBLIC_DIR)) {
    const name = path.basename(file);
    it(name, async () => {
      const o = oracle(file);
      const a = await analyzeFiles([file]);
      const blind = TSHARK_BLIND[name] ?? [];
      for (const c of a.conversations) {
        const facts = c.facts;
        expect(facts, `conversation ${c.id} was detected`).not.toBeNull();
        const ours = facts!.protocol;
        const where = `${name} ${c.transport} stream ${c.conv.stream} (server port ${c.server.port})`;
        expect(facts!.anomalies.filter((x) => x.name.endsWith("internal_error")), where).toEqual([]);
        const ws = ((o.streams?.[c.transport] ?? []) as OracleStream[]).find((s) => s.stream === c.conv.stream);
        const theirs = ws !== undefined ? tsharkLabel(ws) : null;
        if (theirs !== null) {
          expect(ours, `${where}: tshark says ${theirs}`).toBe(theirs);
          agreed.set(theirs, (agreed.get(theirs) ?? 0) + 1);
        } else if ((COMPARED as readonly string[]).includes(ours)) {
          const known = blind.find((b) => b.transport === c.transport && b.stream === c.conv.stream && b.protocol === ours);
          expect(known, `${where}: we say ${ours}, tshark says ${ws?.detected ?? "nothing"}`).toBeDefined();
          expect(ws?.a_first_payload_hex ?? "", `${where}: first client bytes`).toMatch(new RegExp("^" + known!.clientHex));
        }
      }
    });
  }

  it("compared a real number of conversations of each protocol", () => {
    // Counts from the corpus's oracle files: 2 SSH (on 22), 3 HTTP, 20 NTP, 3 RDP (and 1 RDP over UDP), and the DNS
    // of seven files. Lower bounds, so a new capture in the corpus does not break the test.
    expect(agreed.get("ssh") ?? 0).toBeGreaterThanOrEqual(2);
    expect(agreed.get("http") ?? 0).toBeGreaterThanOrEqual(3);
    expect(agreed.get("ntp") ?? 0).toBeGreaterThanOrEqual(20);
    expect(agreed.get("dns") ?? 0).toBeGreaterThanOrEqual(20);
    expect(agreed.get("rdp") ?? 0).toBeGreaterThanOrEqual(4); // 3 on TCP, 1 RDPEUDP
    // QUIC: quic-v2-http3-udp443, snaplen256-quic-udp443 and the Google QUIC stream of ipv6-tls12-and-gquic.
    expect(agreed.get("quic") ?? 0).toBeGreaterThanOrEqual(3);
  });
});
