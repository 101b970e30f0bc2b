/**
 * QUIC on real captures, through the whole pipeline, against two oracles:
 *   - `<file>.tshark.json` (tshark 4.0.17 decrypts Initial packets too): for every UDP stream with
 *     a Client/ServerHello, the client's highest version, the negotiated version, SNI, cipher
 *     suite, JA3 and JA3S;
 *   - `<file>.ja4.json` in captures/ja4: the JA4 (q prefix) FoxIO's rust tool published for QUIC.
 * tshark's udp.stream is our Conversation.stream; the endpoints and first frame are checked too.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ConnectionView } from "../../src/policy/view.js";
import { JA4_DIR, PUBLIC_DIR, type OracleConversation } from "../support/corpus.js";
import { conversationsOf, ourTls, tsharkTls, type OracleTlsEntry } from "../support/tls-oracle.js";


function withOracle(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => existsSync(path.join(dir, f + ".tshark.json")))
    .sort()
    .map((f) => path.join(dir, f));
}

function oracleOf(file: string): { tls?: OracleTlsEntry[]; conversations?: { udp?: OracleConversation[] } } {
  return JSON.parse(readFileSync(file + ".tshark.json", "utf8"));
}

/** Our UDP conversation for tshark's udp.stream: same number, same ports, same first frame. */
function convFor(convs: readonly ConnectionView[], oc: OracleConversation): ConnectionView | undefined {
  return convs.find(
    (c) => c.transport === "udp" && c.conv.stream === oc.stream && c.firstFrame === oc.first_frame && [oc.a_port, oc.b_port].sort().join() === [c.client.port, c.server.port].sort().join(),
  );
}

const files = [...withOracle(PUBLIC_DIR), ...withOracle(JA4_DIR)].filter((f) => (oracleOf(f).tls ?? []).some((e) => e.transport === "udp"));

describe.skipIf(files.length === 0)("QUIC TLS facts against tshark 4.0.17 (captures/public and captures/ja4)", () => {
  it("finds the QUIC captures and their streams", () => {
    // quic-v2-http3-udp443, snaplen256-quic-udp443 (public); chrome-cloudflare-quic-with-secrets, ssh2, tls-handshake, tls-sni, tls3 (ja4).
    expect(files.length).toBeGreaterThanOrEqual(7);
    const streams = files.reduce((n, f) => n + (oracleOf(f).tls ?? []).filter((e) => e.transport === "udp").length, 0);
    expect(streams).toBeGreaterThanOrEqual(51);
  });

  it.each(files.map((f) => [path.basename(f), f]))("%s", async (name, file) => {
    const o = oracleOf(file);
    const convs = await conversationsOf(file);
    for (const e of (o.tls ?? []).filter((x) => x.transport === "udp")) {
      const where = `${name} udp.stream ${e.stream}`;
      const oc = (o.conversations?.udp ?? []).find((c) => c.stream === e.stream)!;
      const conv = convFor(convs, oc);
      expect(conv, `${where}: no conversation with tshark's stream, ports and first frame`).toBeDefined();
      expect(conv!.facts?.protocol, where).toBe("quic");
      const t = conv!.facts?.tls ?? null;
      expect(ourTls(t), `${where} (quic ${JSON.stringify(conv!.facts?.quic)}, anomalies ${JSON.stringify(conv!.facts?.anomalies.map((a) => a.name))})`).toEqual(tsharkTls(e));
      expect(t?.certificateVisible, where).toBe(false);
    }
  });
});

interface Ja4Entry {
  transport: string;
  ja4: string;
  src_port: number;
  dst_port: number;
  tshark_4_0_17?: { stream: number; client_hello_frame: number };
}

const ja4Files = withOracle(JA4_DIR).filter(
  (f) => existsSync(f + ".ja4.json") && (JSON.parse(readFileSync(f + ".ja4.json", "utf8")).client_hellos as Ja4Entry[]).some((e) => e.transport === "udp"),
);

describe.skipIf(ja4Files.length === 0)("QUIC JA4 against FoxIO's published values (captures/ja4)", () => {
  it.each(ja4Files.map((f) => [path.basename(f), f]))("%s", async (name, file) => {
    const entries = (JSON.parse(readFileSync(file + ".ja4.json", "utf8")).client_hellos as Ja4Entry[]).filter((e) => e.transport === "udp");
    const o = oracleOf(file);
    const convs = await conversationsOf(file);
    let compared = 0;
    for (const e of entries) {
      const stream = e.tshark_4_0_17?.stream;
      if (stream === undefined) continue;
      const oc = (o.conversations?.udp ?? []).find((c) => c.stream === stream)!;
      const conv = convFor(convs, oc);
      expect(conv, `${name} udp.stream ${stream}`).toBeDefined();
      expect(conv!.client.port).toBe(e.src_port);
      expect(conv!.server.port).toBe(e.dst_port);
      expect(conv!.facts?.tls?.ja4, `${name} udp.stream ${stream}`).toBe(e.ja4);
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
  });
});

describe.skipIf(!existsSync(path.join(PUBLIC_DIR, "snaplen256-quic-udp443.pcap")))("a snap-length-limited QUIC capture", () => {
  it("reads the server's whole Initial, and says the client's was cut instead of guessing its hello", async () => {
    const [c] = await conversationsOf(path.join(PUBLIC_DIR, "snaplen256-quic-udp443.pcap"));
    const q = c.facts!.quic!;
    expect(q.version).toBe("1");
    expect(q.dcid).toBe("f71ae16671baa8b7");
    expect(q.serverInitials).toBe(1);
    expect(q.clientInitials).toBe(0);
    expect(q.truncated.map((t) => [t.from, t.frame, t.declared])).toEqual([
      ["client", 1, 1200],
      ["client", 5, 1200],
    ]);
    const t = c.facts!.tls!;
    expect(t.clientHelloSeen).toBe(false);
    expect(t.sni).toBeNull();
    expect(t.clientVersion).toBeNull();
    expect(t.truncated).toHaveLength(1);
    expect(t.truncated[0].from).toBe("client");
    expect(t.truncated[0].reason).toMatch(/frame 1 .* of its 1200 bytes \(the snap length\), so it cannot be decrypted; clientVersion, sni, alpn, ja3 and ja4 are unknown/);
  });
});

describe.skipIf(!existsSync(path.join(PUBLIC_DIR, "ipv6-tls12-and-gquic.pcap")))("Google QUIC", () => {
  it("is quic with its Q0xx version, the CHLO's SNI, and no TLS facts (its handshake is not TLS)", async () => {
    const convs = await conversationsOf(path.join(PUBLIC_DIR, "ipv6-tls12-and-gquic.pcap"));
    const g = convs.find((c) => c.transport === "udp" && c.conv.stream === 0)!;
    expect(g.facts?.protocol).toBe("quic");
    expect(g.facts?.quic?.version).toBe("Q025");
    expect(g.facts?.quic?.sni).toBe("www.google.it"); // frame 5's CHLO, tag SNI (tshark: "Server Name Indication: www.google.it")
    expect(g.facts?.tls).toBeNull();
  });
});
