import { describe, expect, it } from "vitest";
import { choose, detect, detectorServerPorts, detectors } from "../../src/detect/registry.js";
import { sshDetector } from "../../src/detect/ssh.js";
import type { Protocol } from "../../src/detect/types.js";
import { authdBanner, clientHello, dnsQuery, dnsResponse, ntpV4Client, ntpV4Server, rdpConfirm, rdpRequest, serverHello, sshClient, sshServer } from "./fixtures.js";
import { bytes, randomBytes, rng, tcp, udp, zeros } from "./sample.js";

describe("detector registry", () => {
  it("lists every protocol of the report contract exactly once", () => {
    const all: Protocol[] = ["tls", "quic", "dtls", "vmware-authd", "ssh", "rdp", "http", "ntp", "dns", "nbns", "plaintext", "unknown", "none"];
    // tls twice: the TLS detector, and the tunnel detector (SOCKS, PostgreSQL, LDAP preambles), whose protocol is the TLS after the preamble.
    expect(detectors.map((d) => d.protocol).sort()).toEqual([...all, "tls"].sort());
  });

  it("declares each detector as data: transports, ports, strength", () => {
    for (const d of detectors) {
      expect(d.transports.length).toBeGreaterThan(0);
    }
    const strong = detectors.filter((d) => d.byContent).map((d) => d.protocol);
    expect(strong).toEqual(["vmware-authd", "tls", "ssh", "rdp", "http", "tls", "quic", "dtls", "nbns"]);
  });

  it("content wins over ports: TLS on 22 is TLS, SSH on 443 is SSH", () => {
    expect(detect(tcp(clientHello("a.example"), serverHello(), { serverPort: 22 })).protocol).toBe("tls");
    expect(detect(tcp(sshClient, sshServer, { serverPort: 443 })).protocol).toBe("ssh");
    expect(detect(tcp(rdpRequest, rdpConfirm(2, 0), { serverPort: 80 })).protocol).toBe("rdp");
  });

  it("an authd greeting on port 9999 is vmware-authd, not TLS and not plaintext", () => {
    const c = choose(tcp(clientHello("esx"), bytes(authdBanner, serverHello()), { serverPort: 9999 }));
    expect(c.detector.protocol).toBe("vmware-authd");
    expect(c.step).toBe(1);
    expect(detect(tcp(new Uint8Array(0), authdBanner, { serverPort: 9999 })).protocol).toBe("vmware-authd");
  });

  it("a 48-byte binary datagram on UDP 5000 is not NTP", () => {
    // Shaped like an NTP v4 client request in its first byte (0x23), garbage after it.
    const next = rng(5000);
    let ntp = 0;
    for (let i = 0; i < 500; i++) {
      const d = randomBytes(next, 48);
      if (i % 2 === 0) d[0] = 0x23;
      if (detect(udp([[true, d]], { serverPort: 5000 })).protocol === "ntp") ntp++;
    }
    expect(ntp).toBe(0);
    // The same first byte with the rest of a real request is NTP, found in the last step.
    const c = choose(udp([[true, ntpV4Client], [false, ntpV4Server]], { serverPort: 5000 }));
    expect(c.detector.protocol).toBe("ntp");
    expect(c.step).toBe(3);
  });

  it("weak detectors are tried on their port before the fallback, and leniently there", () => {
    const c = choose(udp([[true, dnsQuery], [false, dnsResponse]], { serverPort: 53 }));
    expect([c.detector.protocol, c.step]).toEqual(["dns", 2]);
    // An SNTP request with an odd poll: NTP on 123, unknown on 5000.
    const odd = bytes(0x23, 0x00, 0x20, 0x00, zeros(44));
    expect(detect(udp([[true, odd]], { serverPort: 123 })).protocol).toBe("ntp");
    expect(detect(udp([[true, odd]], { serverPort: 5000 })).protocol).toBe("unknown");
    // Client port counts too (Suricata: destination port, then source port).
    expect(choose(udp([[true, odd]], { serverPort: 40000, clientPort: 123 })).detector.protocol).toBe("ntp");
  });

  it("a probe's 'more' counts as 'no' once the sample is final", () => {
    const partial = bytes("SSH-");
    expect(sshDetector.probe(tcp(partial, new Uint8Array(0), { serverPort: 22, clientDone: false, serverDone: false }))).toBe("more");
    expect(detect(tcp(partial, new Uint8Array(0), { serverPort: 22 })).protocol).toBe("plaintext");
  });

  it("falls back to none, plaintext and unknown", () => {
    expect(detect(tcp(new Uint8Array(0), new Uint8Array(0))).protocol).toBe("none");
    expect(detect(tcp(bytes("hello there\r\n"), new Uint8Array(0))).protocol).toBe("plaintext");
    expect(detect(tcp(bytes(0x00, 0x01, 0x02, 0xff), new Uint8Array(0))).protocol).toBe("unknown");
  });

  it("sets protocol and runs only the chosen analyzer", () => {
    const f = detect(tcp(sshClient, sshServer, { serverPort: 22 }));
    expect(f.protocol).toBe("ssh");
    expect(f.ssh).not.toBeNull();
    expect([f.tls, f.rdp, f.http, f.ntp, f.dns]).toEqual([null, null, null, null, null]);
  });
});

describe("detectorServerPorts", () => {
  it("is the union of the detectors' declared ports, per transport", () => {
    const all = detectorServerPorts();
    for (const d of detectors) for (const p of d.ports) expect(all.has(p), `${d.protocol} port ${p}`).toBe(true);
    expect(all.size).toBe(new Set(detectors.flatMap((d) => [...d.ports])).size);
    // 902 (vmware-authd) and 1080 (SOCKS) are TCP detectors' ports; 123 (NTP) is UDP only.
    expect(detectorServerPorts("tcp").has(902)).toBe(true);
    expect(detectorServerPorts("tcp").has(1080)).toBe(true);
    expect(detectorServerPorts("tcp").has(123)).toBe(false);
    expect(detectorServerPorts("udp").has(123)).toBe(true);
  });
});
