/**
 * Seeded property test: no probe, analyzer or the registry throws, whatever the bytes. Inputs are
 * every truncation of each valid sample (each direction, done and not done), seeded random byte
 * mutations of them, and plain random bytes.
 */
import { describe, expect, it } from "vitest";
import { detect, detectors } from "../../src/detect/registry.js";
import { emptyFacts, type StreamSample } from "../../src/detect/types.js";
import * as fx from "./fixtures.js";
import { bytes, randomBytes, rng, tcp, udp } from "./sample.js";
import * as ux from "./udp-fixtures.js";

const PROTOCOLS = new Set(detectors.map((d) => d.protocol));
const RESULTS = new Set(["match", "more", "no"]);

/** Valid conversations built from the fixtures. */
function validSamples(): StreamSample[] {
  const e = new Uint8Array(0);
  return [
    tcp(fx.clientHello("esxi.lab"), bytes(fx.authdBanner, fx.serverHello()), { serverPort: 902 }),
    tcp(e, fx.authdBanner, { serverPort: 902 }),
    tcp(fx.sshClient, fx.sshServer, { serverPort: 22 }),
    tcp(bytes(fx.rdpRequest, fx.clientHello("guest")), bytes(fx.rdpConfirm(2, 1), fx.serverHello()), { serverPort: 3389 }),
    tcp(fx.rdpRequest, fx.rdpConfirm(3, 5), { serverPort: 3389 }),
    tcp(fx.httpRequest, fx.httpResponse, { serverPort: 80 }),
    tcp(bytes("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", fx.clientHello("h")), bytes("HTTP/1.1 200 OK\r\n\r\n", fx.serverHello()), { serverPort: 3128 }),
    tcp(bytes(fx.socks5Greeting, fx.socks5ConnectDomain, fx.clientHello("s5")), bytes(fx.socks5NoAuth, fx.socks5Reply(0), fx.serverHello()), { serverPort: 1080 }),
    tcp(bytes(fx.pgSslRequest, fx.clientHello("pg")), bytes("S", fx.serverHello()), { serverPort: 5432 }),
    tcp(bytes(fx.ldapStartTlsRequest, fx.clientHello("ldap")), bytes(fx.ldapStartTlsResponse(0), fx.serverHello()), { serverPort: 389 }),
    tcp(fx.dnsTcp(fx.dnsQuery, fx.dnsNxdomain), fx.dnsTcp(fx.dnsResponse), { serverPort: 53 }),
    tcp(fx.clientHello("tls.example"), fx.serverHello(), { serverPort: 443 }),
    udp([[true, fx.ntpV4Client], [false, fx.ntpV4Server]], { serverPort: 123 }),
    udp([[true, fx.ntpV3Client], [false, fx.ntpV3Server]], { serverPort: 123 }),
    udp([[true, fx.ntpControlRequest], [false, fx.ntpControlResponse], [true, fx.ntpMonlist]], { serverPort: 123 }),
    udp([[true, fx.dnsQuery], [false, fx.dnsResponse], [true, fx.dnsSelfLoop], [false, fx.dnsLabelLoop]], { serverPort: 53 }),
    udp([[true, ux.clientInitial(1, ux.DCID, 0, ux.cryptoFrame(0, ux.quicClientHello("quic.example")), 0)], [false, ux.A3_PACKET]], { serverPort: 443 }),
    udp([[true, ux.syn(2, false, false)], [false, ux.synAck(2, false)], [true, ux.data(ux.SERVER_ISN, ux.CLIENT_ISN + 1, fx.clientHello("rdp"))], [false, ux.data(ux.CLIENT_ISN + 1, ux.SERVER_ISN + 1, fx.serverHello())]], { serverPort: 3389 }),
    udp([[true, fx.dtlsRecord(22, 0xfeff, 0, 0, fx.dtlsHandshake(1, 0, fx.dtlsClientHello("media.example")))], [false, fx.dtlsRecord(22, 0xfefd, 0, 0, fx.dtlsHandshake(2, 0, fx.serverHelloBody))]], { serverPort: 443 }),
    udp([[true, fx.nbnsQuery], [false, fx.nbnsAnswer]], { serverPort: 137 }),
  ];
}

/** Runs every probe and every analyzer directly (so a throw fails the test), then the registry. */
function exercise(s: StreamSample): string {
  for (const d of detectors) {
    const r = d.probe(s);
    if (!RESULTS.has(r)) throw new Error(`${d.protocol} probe returned ${String(r)}`);
    const f = emptyFacts();
    d.analyze(s, f);
    for (const a of f.anomalies) {
      if (!/^[a-z0-9]+(_[a-z0-9]+)*$/.test(a.name)) throw new Error(`${d.protocol}: anomaly name ${a.name} is not snake_case`);
      if (a.name.endsWith("internal_error")) throw new Error(`${d.protocol}: ${a.message}`);
    }
  }
  const f = detect(s);
  if (!PROTOCOLS.has(f.protocol)) throw new Error(`detect gave ${f.protocol}`);
  if (f.anomalies.some((a) => a.name.endsWith("internal_error"))) throw new Error(`detect: ${JSON.stringify(f.anomalies)}`);
  return f.protocol;
}

function withClient(s: StreamSample, client: Uint8Array, done: boolean): StreamSample {
  return { ...s, client, clientDone: done };
}
function withServer(s: StreamSample, server: Uint8Array, done: boolean): StreamSample {
  return { ...s, server, serverDone: done };
}

describe("detectors never throw", () => {
  it("on every truncation of each valid sample", () => {
    let runs = 0;
    for (const s of validSamples()) {
      if (s.transport === "tcp") {
        for (const done of [true, false]) {
          for (let n = 0; n <= s.client.length; n++) {
            exercise(withClient(s, s.client.subarray(0, n), done));
            runs++;
          }
          for (let n = 0; n <= s.server.length; n++) {
            exercise(withServer(s, s.server.subarray(0, n), done));
            runs++;
          }
        }
      } else {
        for (let i = 0; i < s.datagrams.length; i++) {
          const d = s.datagrams[i];
          for (let n = 0; n <= d.data.length; n++) {
            const list = s.datagrams.map((x, j) => (j === i ? { ...x, data: x.data.subarray(0, n) } : x));
            exercise({ ...s, datagrams: list });
            runs++;
          }
        }
      }
    }
    expect(runs).toBeGreaterThan(2000);
  });

  it("on seeded random mutations of each valid sample", () => {
    const next = rng(0x5eed);
    const mutate = (b: Uint8Array): Uint8Array => {
      const m = Uint8Array.from(b);
      const flips = 1 + Math.floor(next() * 4);
      for (let k = 0; k < flips && m.length > 0; k++) m[Math.floor(next() * m.length)] = Math.floor(next() * 256);
      return m;
    };
    let runs = 0;
    for (const s of validSamples()) {
      for (let i = 0; i < 300; i++) {
        if (s.transport === "tcp") exercise({ ...s, client: mutate(s.client), server: mutate(s.server) });
        else exercise({ ...s, datagrams: s.datagrams.map((d) => ({ ...d, data: mutate(d.data) })) });
        runs++;
      }
    }
    expect(runs).toBe(validSamples().length * 300);
  });

  it("on seeded random bytes, TCP and UDP, on the detectors' own ports", () => {
    const next = rng(12345);
    const ports = [22, 53, 80, 123, 443, 902, 3389, 5353, 9999];
    const seen = new Map<string, number>();
    const count = (p: string) => seen.set(p, (seen.get(p) ?? 0) + 1);
    for (let i = 0; i < 1500; i++) {
      const port = ports[i % ports.length];
      const len = () => Math.floor(next() * 300);
      if (i % 2 === 0) {
        count(exercise(tcp(randomBytes(next, len()), randomBytes(next, len()), { serverPort: port, clientDone: next() < 0.5, serverDone: next() < 0.5 })));
      } else {
        const n = Math.floor(next() * 4);
        const list: [boolean, Uint8Array][] = [];
        for (let k = 0; k < n; k++) list.push([next() < 0.5, randomBytes(next, len())]);
        count(exercise(udp(list, { serverPort: port })));
      }
    }
    // Strong signatures need literal text or consistent headers: random bytes never make them.
    for (const p of ["vmware-authd", "ssh", "http", "rdp", "quic"]) expect(seen.get(p) ?? 0, p).toBe(0);
    expect((seen.get("unknown") ?? 0) + (seen.get("none") ?? 0)).toBeGreaterThan(1000);
  });
});
