/**
 * A report whose every wire-derived string is hostile, raw: the detectors already escape control
 * bytes they read, so this goes further than any capture can and checks the renderers on their
 * own. Built from a real report (so its shape is the real one) with the strings overwritten.
 */
import type { Report } from "../../src/report/record.js";

/** Raw terminal controls: CSI clear screen, OSC retitle ended by BEL, 8-bit CSI, bidi override. */
export const RAW_ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x9b31m\u202eevil\u202c";
/** Markup for Markdown and HTML. */
export const MARKUP = "<script>alert(1)</script><img src=x onerror=alert(1)>|a|b|`code`*em*_u_[x](javascript:alert(1))#h&amp;";
export const HOSTILE = `${MARKUP}${RAW_ESCAPES}\r\nnext line`;
/** Long and unbreakable, to check wrapping. */
export const LONG = "a".repeat(150) + ".example";

/** Overwrites every string that came off the wire (and the file name, rule text and filters). */
export function poison(src: Report): Report {
  const r: Report = structuredClone(src);
  const h = (tag: string) => `${tag}${HOSTILE}`;
  r.matrix.product = h("product");
  for (const c of r.captures) {
    c.file = h("file");
    c.errors.push({ frame: 3, offset: 99, message: h("error"), fatal: false });
  }
  for (const x of r.roles) x.reason = h("reason");
  for (const c of r.conversations) {
    c.banner = h("banner");
    c.tls = {
      clientVersionCode: 0x0304,
      versionCode: 0x0304,
      clientVersion: "TLS 1.3",
      version: h("version"),
      sni: `${LONG}${HOSTILE}`,
      alpn: [h("alpn1"), h("alpn2")],
      alpnSelected: h("alpnSel"),
      cipher: h("cipher"),
      ja3: null,
      ja3s: null,
      ja4: null,
      certificate: { subject: h("subject"), issuer: h("issuer"), notBefore: "", notAfter: "", san: [h("san")], chainLength: 1 },
      certificateVisible: true,
      chain: [
        {
          subject: h("chain-subject"), issuer: h("chain-issuer"), notBefore: "", notAfter: "", san: [h("chain-san")],
          keyType: h("keytype"), keyBits: 1024, curve: h("curve"), signatureAlgorithm: h("sigalg"), weakSignatureHash: true,
          selfSigned: true, sha256: h("sha256"),
        },
      ],
      chainsToPublicRoot: false,
      truncated: [{ from: "server", message: h("message"), declared: 10, truncatedAt: 5, reason: h("reason") }],
      helloRetryRequest: false,
      clientHelloSeen: true,
      serverHelloSeen: true,
      alerts: [{ from: "server", level: h("level"), description: h("desc") }],
    };
    c.ssh = { clientBanner: h("cb"), serverBanner: h("sb"), clientSoftware: h("csw"), serverSoftware: h("ssw") };
    c.http = { method: h("GET"), uri: h("/uri"), host: h("host"), status: 200, server: h("server") };
    c.rdp = { cookie: h("cookie"), requestedProtocols: [h("proto")], selectedProtocol: h("sel"), failure: h("fail") };
    c.dns = { queries: [h("q1"), h("q2")], rcodes: [h("rc")], answers: [{ name: h("an"), address: "10.0.0.9" }] };
    c.anomalies = [{ name: h("anomaly"), message: h("message") }];
  }
  for (const f of r.findings) {
    f.message = h("message");
    f.fix = h("fix");
    f.wiresharkFilter = `tcp.port==443 || http.host=="${MARKUP}\`\`\`${RAW_ESCAPES}"`;
  }
  return r;
}
