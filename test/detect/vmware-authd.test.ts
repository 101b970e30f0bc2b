import { describe, expect, it } from "vitest";
import { analyzeWith, detect } from "../../src/detect/registry.js";
import { emptyFacts } from "../../src/detect/types.js";
import { vmwareAuthdDetector } from "../../src/detect/vmware-authd.js";
import { AUTHD_LINE, authdBanner, clientHello, serverHello } from "./fixtures.js";
import { bytes, names, tcp } from "./sample.js";

describe("vmware-authd detector", () => {
  it("reads the 220 greeting, then the TLS handshake that follows at once", () => {
    // Server: greeting line, then its ServerHello; client: a ClientHello from byte 0.
    const s = tcp(clientHello("esxi01.lab.local"), bytes(authdBanner, serverHello()), { serverPort: 902, firstSpeaker: "server" });
    const f = detect(s);
    expect(f.protocol).toBe("vmware-authd");
    expect(f.banner).toBe(AUTHD_LINE);
    expect(f.authdTls).toBe(true);
    expect(f.tls?.sni).toBe("esxi01.lab.local");
    expect(f.tls?.version).toBe("TLS 1.2");
    expect(f.tls?.serverHelloSeen).toBe(true);
    expect(names(f.anomalies).filter((n) => n.startsWith("authd_"))).toEqual([]);
  });

  it("is found by content on any port, before TLS (whose ClientHello is at client byte 0)", () => {
    const s = tcp(clientHello("x"), bytes(authdBanner, serverHello()), { serverPort: 9999, firstSpeaker: "server" });
    expect(detect(s).protocol).toBe("vmware-authd");
    const on443 = tcp(clientHello("x"), bytes(authdBanner, serverHello()), { serverPort: 443, firstSpeaker: "server" });
    expect(detect(on443).protocol).toBe("vmware-authd");
  });

  it("a greeting with no reply is still vmware-authd, without TLS and without anomalies", () => {
    const f = detect(tcp(new Uint8Array(0), authdBanner, { serverPort: 902 }));
    expect(f.protocol).toBe("vmware-authd"); // not "plaintext", although the line is text
    expect(f.authdTls).toBe(false);
    expect(f.banner).toBe(AUTHD_LINE);
    expect(f.anomalies).toEqual([]);
  });

  it("names plaintext after the greeting", () => {
    // An old-style client typing USER/PASS in clear instead of starting TLS.
    const f = detect(tcp(bytes("USER root\r\nPASS secret\r\n"), bytes(authdBanner, "331 Password required for root.\r\n"), { serverPort: 902 }));
    expect(f.protocol).toBe("vmware-authd");
    expect(f.authdTls).toBe(false);
    const a = f.anomalies.filter((x) => x.name === "authd_plaintext_after_banner");
    expect(a.map((x) => x.direction)).toEqual(["client", "server"]);
    expect(a[0].offset).toBe(0);
    expect(a[0].message).toContain("24 bytes") // 11 + 13;
    expect(a[1].offset).toBe(authdBanner.length);
  });

  it("binary after the greeting that is not TLS is not called plain text; one TLS record is TLS (issue 18)", () => {
    const binary = bytes(0x00, 0x00, 0x01, 0x2c, 0xfe, 0x01, 0x02, 0x90, 0x81, 0x07, 0x00, 0x00); // no text, no TLS header
    const f = detect(tcp(binary, authdBanner, { serverPort: 902 }));
    expect(names(f.anomalies)).toContain("authd_not_tls_after_banner");
    expect(names(f.anomalies)).not.toContain("authd_plaintext_after_banner");
    expect(f.anomalies.find((a) => a.name === "authd_not_tls_after_banner")).toMatchObject({ direction: "client", offset: 0 });
    // A capture that began after the handshake: the client's first bytes are one application-data record.
    const record = bytes(0x17, 0x03, 0x03, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8); // type 23, TLS 1.2, length 8
    expect(detect(tcp(record, authdBanner, { serverPort: 902 })).anomalies).toEqual([]);
  });

  it("names a daemon that does not require SSL and a bare-LF greeting", () => {
    const f = emptyFacts();
    analyzeWith(vmwareAuthdDetector, tcp(new Uint8Array(0), bytes("220 VMware Authentication Daemon Version 1.00\n")), f);
    expect(names(f.anomalies)).toEqual(["authd_banner_missing_cr", "authd_ssl_not_required"]);
    expect(f.banner).toBe("220 VMware Authentication Daemon Version 1.00");
  });

  it("names a greeting that never ends", () => {
    const f = emptyFacts();
    analyzeWith(vmwareAuthdDetector, tcp(new Uint8Array(0), bytes("220 VMware Authentication Daemon Version 1.10: SSL Req")), f);
    expect(names(f.anomalies)).toEqual(["authd_banner_unterminated"]);
    // The same bytes stopping at a gap were cut by the capture: the server ended nothing.
    const cut = emptyFacts();
    analyzeWith(vmwareAuthdDetector, tcp(new Uint8Array(0), bytes("220 VMware Authentication Daem"), { serverGap: true }), cut);
    expect(names(cut.anomalies)).toEqual([]);
    expect(cut.banner).toBe("220 VMware Authentication Daem");
  });

  it("probe: match, more on a partial signature while the server may still send, else no", () => {
    expect(vmwareAuthdDetector.probe(tcp(new Uint8Array(0), authdBanner))).toBe("match");
    const partial = bytes("220 VMware Auth");
    expect(vmwareAuthdDetector.probe(tcp(new Uint8Array(0), partial, { serverDone: false }))).toBe("more");
    expect(vmwareAuthdDetector.probe(tcp(new Uint8Array(0), partial, { serverDone: true }))).toBe("no");
    // Cut by the capture (a gap: snap length, a lost segment) inside the signature: authd's start
    // ("220 VMware", the 10 bytes a snap length of 96 keeps over IPv6) is taken as authd.
    expect(vmwareAuthdDetector.probe(tcp(new Uint8Array(0), partial, { serverGap: true }))).toBe("match");
    expect(vmwareAuthdDetector.probe(tcp(new Uint8Array(0), bytes("220 VMware"), { serverGap: true }))).toBe("match");
    expect(vmwareAuthdDetector.probe(tcp(new Uint8Array(0), bytes("220 VMwar"), { serverGap: true }))).toBe("no");
    expect(vmwareAuthdDetector.probe(tcp(new Uint8Array(0), bytes("220 mail.example.com ESMTP Postfix\r\n")))).toBe("no");
    // The signature must be the server's: a client sending it is not authd.
    expect(vmwareAuthdDetector.probe(tcp(authdBanner, new Uint8Array(0)))).toBe("no");
  });
});
