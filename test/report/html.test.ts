/**
 * The HTML report as text: it loads nothing, escapes everything that came off the wire, is the
 * same for the same report, and draws what the report says. Reports are built here field by
 * field (a hostile one, a 41-host one, one per colour), and also come from the real pipeline on
 * the recorded captures.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import type { Finding } from "../../src/policy/check.js";
import { builtinMatrix } from "../../src/policy/matrix.js";
import { jsonForScript, renderHtml } from "../../src/report/html/page.js";
import { MAX_HOSTS } from "../../src/report/html/diagram/index.js";
import { commonName, hostIndex, MAX_NAMES_KEPT } from "../../src/report/html/hosts.js";
import type { CaptureRecord, ConversationRecord, Report } from "../../src/report/record.js";
import { REPORT_SCHEMA } from "../../src/report/record.js";
import { redactReport } from "../../src/report/redact.js";

const FIXTURES = path.resolve(__dirname, "../../fixtures/recorded");
const HOSTILE = path.resolve(__dirname, "../../fixtures/hostile/hostile.pcap");

// ---------------------------------------------------------------------------------------------
// Building reports by hand. `flow` and `aggregate` are fields being added to the record: the
// defaults carry them (null) in a plain object merged with Object.assign, so these builders
// type-check whether or not record.ts declares them yet.

function capture(over: Partial<CaptureRecord> = {}): CaptureRecord {
  const base = {
    flow: null,
    file: "proxy.pcap", format: "pcap", compressed: false, linkTypes: [1], packets: 10, frames: 10, bytes: 1000,
    firstTimestamp: "2024-03-01T10:00:00.000000000Z", lastTimestamp: "2024-03-01T10:00:09.500000000Z", errors: [],
    decode: {
      ipv4: 10, ipv6: 0, tcp: 10, udp: 0, icmp: 0, nonIp: {}, otherIpProtocols: {}, unsupportedLinkTypes: {}, fragments: 0, reassembled: 0,
      snaplenCut: 0, malformed: 0, errorsNotListed: 0, icmpUnmatched: 0, fragmentsIncomplete: 0,
    },
  };
  return Object.assign(base, over);
}

let nextId = 1;
function conv(client: string, server: string, port: number, over: Partial<ConversationRecord> = {}): ConversationRecord {
  const id = nextId++;
  const base = {
    aggregate: null,
    id, capture: 0, stream: id - 1, transport: "tcp",
    client: { ip: client, port: 40000 + id, role: null, mac: null }, server: { ip: server, port, role: null, mac: null }, clientBy: "syn",
    packets: { client: 3, server: 2 }, bytes: { client: 300, server: 200 }, firstFrame: id * 2 - 1, lastFrame: id * 2,
    start: "2024-03-01T10:00:01.000000000Z", end: "2024-03-01T10:00:02.250000000Z", state: "SF", history: "ShADadFf",
    protocol: "none", clientProtocol: null, tls: null, banner: null, ssh: null, rdp: null, http: null, ntp: null, dns: null, icmp: null,
    tcp: { retransmissions: 0, outOfOrder: 0, overlaps: 0, gaps: 0, gapBytes: 0, zeroWindows: 0, inconsistentOverlaps: 0, clientStartMissing: false, serverStartMissing: false, clientUnseen: false, serverUnseen: false },
    anomalies: [], rule: null, ruleKind: null, ruleAlternatives: [], findings: [], status: null, limits: [], vlan: null, truncatedPackets: 0, duplicateOf: null,
  };
  return Object.assign(base, over);
}

function finding(severity: Finding["severity"], conversations: number[], over: Partial<Finding> = {}): Finding {
  return {
    code: severity === "error" ? "blocked" : "unexpected-port", severity, message: `a ${severity} finding`, fix: "do something", rule: null, rules: [], framesIn: [{ capture: 0, frames: [1, 2] }],
    conversations, frames: [1, 2], wiresharkFilter: "ip.addr==10.0.0.5 && tcp.port==443", ...over,
  };
}

function report(conversations: ConversationRecord[], findings: Finding[] = [], over: Partial<Report> = {}): Report {
  const count = { error: 0, warning: 0, info: 0 };
  for (const f of findings) count[f.severity]++;
  const verdict = count.error ? "fail" : count.warning ? "warn" : "pass";
  return {
    schema: REPORT_SCHEMA, generator: { name: "phoenix-netcheck", version: "0.0.0-test" },
    matrix: { product: "Druva Phoenix backup proxy for VMware", version: "1", rows: 12 },
    captures: [capture()], roles: [], conversations, findings,
    summary: { verdict, coverage: [], fixFirst: [], filter: null, findings: count, conversations: conversations.length, matched: conversations.filter((c) => c.rule).length, captureSeconds: 9.5 },
    ...over,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading the output.

/** Element names of every tag in the document. */
function tagNames(html: string): Set<string> {
  return new Set([...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1].toLowerCase()));
}

const ALLOWED_TAGS = new Set([
  "ol",
  "html", "head", "meta", "title", "link", "style", "body", "header", "nav", "main", "section", "footer", "div", "p", "a", "span", "strong",
  "h2", "h3", "ul", "li", "article", "dl", "dt", "dd", "pre", "button", "table", "thead", "tbody", "tr", "th", "td", "script",
  "svg", "defs", "marker", "path", "g", "rect", "text", "tspan",
]);

function inlineBlocks(html: string, tag: "script" | "style"): { attrs: string; body: string }[] {
  return [...html.matchAll(new RegExp(`<${tag}([^>]*)>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => ({ attrs: m[1], body: m[2] }));
}

function sha256(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/** Resource loads that would leave the file: remote src/href, CSS @import and url(), <link> stylesheets. */
function remoteLoads(html: string): string[] {
  const found: string[] = [];
  for (const m of html.matchAll(/\b(src|href|xlink:href|action|formaction|poster|srcset|data)\s*=\s*["']?\s*(?:(?:https?|ftp|wss?):)?\/\/[^"'\s>]*/gi)) found.push(m[0]);
  // url(#id) points into the document itself (SVG markers); anything else could load.
  for (const m of html.matchAll(/@import|url\s*\(\s*['"]?(?!#)/gi)) found.push(m[0]);
  for (const m of html.matchAll(/<link\b[^>]*>/gi)) if (!/href="data:,?"/.test(m[0])) found.push(m[0]);
  return found;
}

function cspOf(html: string): string {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  expect(m).not.toBeNull();
  return m![1].replace(/&#39;/g, "'");
}

// ---------------------------------------------------------------------------------------------

describe("jsonForScript", () => {
  it("cannot close its script element and still parses to the same value", () => {
    const v = { s: "</script><script>alert(1)</script>", t: "a&b>c\u2028" };
    const text = jsonForScript(v);
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual(v);
  });
});

describe("HTML report: self-contained", () => {
  const r = report([conv("10.0.0.5", "10.0.1.7", 443, { client: { ip: "10.0.0.5", port: 40001, role: "proxy", mac: null } })]);
  const html = renderHtml(r);

  it("has no remote load", () => {
    expect(remoteLoads(html)).toEqual([]);
  });

  it("has a CSP that forbids every load and allows exactly its own inline script and style by hash", () => {
    const csp = cspOf(html);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    const scripts = inlineBlocks(html, "script").filter((s) => !/type="application\/json"/.test(s.attrs));
    expect(scripts).toHaveLength(1);
    expect(csp).toContain(`script-src ${sha256(scripts[0].body)}`);
    const styles = inlineBlocks(html, "style");
    expect(styles).toHaveLength(1);
    expect(csp).toContain(`style-src ${sha256(styles[0].body)}`);
  });

  it("uses no inline event handlers or style attributes (the CSP would block them)", () => {
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/javascript:/i);
  });

  it("has no remote load for any recorded capture either", async () => {
    const files = readdirSync(FIXTURES).filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const h = renderHtml(await reportFor([path.join(FIXTURES, f)]), { matrixRows: builtinMatrix().rows });
      expect(remoteLoads(h), f).toEqual([]);
      expect([...tagNames(h)].filter((t) => !ALLOWED_TAGS.has(t)), f).toEqual([]);
    }
  });
});

describe("HTML report: hostile input", () => {
  const XSS = "<script>alert(1)</script>";
  const IMG = `"><img src=x onerror=alert(1)>`;
  const ESC = "\u001b[2J\u001b]0;owned\u0007";
  const c1 = conv("10.0.0.5", "10.0.1.7", 443, {
    client: { ip: "10.0.0.5", port: 40001, role: "proxy", mac: null },
    protocol: "tls",
    banner: `${IMG}${ESC}`,
    tls: {
      clientVersionCode: 0x0303, versionCode: 0x0303, clientVersion: "TLS 1.2", version: "TLS 1.2", sni: XSS, alpn: [XSS], alpnSelected: IMG, cipher: XSS, ja3: null, ja3s: null, ja4: null,
      certificate: { subject: `CN=${XSS}`, issuer: `CN=${IMG}`, notBefore: "2024-01-01T00:00:00Z", notAfter: "2025-01-01T00:00:00Z", san: [XSS], chainLength: 1 },
      certificateVisible: true, chain: [], chainsToPublicRoot: null, truncated: [],
      helloRetryRequest: false, clientHelloSeen: true, serverHelloSeen: true, alerts: [{ from: "server", level: "fatal", description: XSS }],
    },
    anomalies: [{ name: "x", message: `${IMG}${ESC}` }],
    rule: XSS,
    findings: ["weak-tls"],
  });
  const c2 = conv("10.0.0.5", "10.0.2.9", 80, {
    protocol: "http", http: { method: "GET", uri: `/${XSS}`, host: IMG, status: 200, server: ESC },
    dns: { queries: [XSS, `${IMG}.example`], rcodes: ["NOERROR"], answers: [{ name: XSS, address: "10.0.0.9" }] },
  });
  const c3 = conv("10.0.0.5", "10.0.3.3", 22, { protocol: "ssh", ssh: { clientBanner: IMG, serverBanner: XSS, clientSoftware: ESC, serverSoftware: XSS } });
  const c4 = conv("10.0.0.5", "10.0.4.4", 3389, { protocol: "rdp", rdp: { cookie: `mstshash=${IMG}`, requestedProtocols: [XSS], selectedProtocol: IMG, failure: ESC } });
  const r = report(
    [c1, c2, c3, c4],
    [finding("error", [c1.id], { message: `weak ${XSS}`, fix: IMG, rule: XSS, wiresharkFilter: `tls.handshake.extensions_server_name == "${XSS}"` })],
    {
      captures: [capture({ file: `</title>${XSS}${ESC}.pcap`, errors: [{ frame: 3, offset: 100, message: `${IMG}${ESC}`, fatal: false }] })],
      roles: [{ ip: "10.0.0.5", role: "proxy", source: "inferred", reason: `${IMG}${ESC}\u202etxt.exe` }],
      generator: { name: XSS, version: IMG },
      summary: {
        verdict: "fail", findings: { error: 1, warning: 0, info: 0 }, conversations: 4, matched: 0, captureSeconds: 9.5, filter: XSS,
        coverage: [{ code: "filtered", message: `The packets went through the filter "${XSS}"; rows ${XSS}, esxi-902 are not in the filter, so they are not judged and not missing.`, action: IMG, inconclusive: false }],
        fixFirst: [{ host: `${XSS}${ESC}`, role: IMG, action: `allow TCP 443 from ${IMG}`, impact: `${XSS}\u202e`, code: "weak-tls", severity: "error", text: `${XSS}: ${IMG}` }],
      },
      matrix: { product: XSS, version: IMG, rows: 1 },
    },
  );
  const html = renderHtml(r, { matrixRows: builtinMatrix().rows });

  it("renders no markup from the wire", () => {
    expect(html).not.toContain("<script>alert");
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toContain(`</title>${XSS}`);
    expect([...tagNames(html)].filter((t) => !ALLOWED_TAGS.has(t))).toEqual([]);
    // Exactly two script elements: the JSON data and the page's own script.
    expect(html.match(/<script/g)).toHaveLength(2);
  });

  it("shows the hostile text escaped, where a reader can see it", () => {
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("\\x1b[2J");
    expect(html).toContain("\\u202etxt.exe");
  });

  it("contains no control or bidi character at all", () => {
    // eslint-disable-next-line no-control-regex
    expect(html).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it("keeps the JSON data block closed and parseable", () => {
    const block = inlineBlocks(html, "script").find((s) => /type="application\/json"/.test(s.attrs))!;
    expect(block.body).not.toContain("<");
    const data = JSON.parse(block.body);
    expect(data.verdict).toBe("fail");
  });

  it("escapes inside the SVG too", () => {
    const svg = /<svg[\s\S]*<\/svg>/.exec(html)![0];
    expect(svg).not.toMatch(/<(script|img|foreignObject)/i);
  });

  it.skipIf(!existsSync(HOSTILE))("renders fixtures/hostile/hostile.pcap safely", async () => {
    const h = renderHtml(await reportFor([HOSTILE]), { matrixRows: builtinMatrix().rows });
    expect(h).not.toContain("<script>alert");
    expect(h).not.toMatch(/<img/i);
    // eslint-disable-next-line no-control-regex
    expect(h).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect([...tagNames(h)].filter((t) => !ALLOWED_TAGS.has(t))).toEqual([]);
  });
});

describe("HTML report: deterministic", () => {
  it("gives the same bytes for the same report, and for a copy of it", async () => {
    const f = path.join(FIXTURES, "tcp-udp-failures.pcap");
    const r = await reportFor([f], { role: ["proxy=10.77.0.10"] });
    const a = renderHtml(r, { matrixRows: builtinMatrix().rows });
    expect(renderHtml(r, { matrixRows: builtinMatrix().rows })).toBe(a);
    expect(renderHtml(structuredClone(r), { matrixRows: builtinMatrix().rows })).toBe(a);
    const again = await reportFor([f], { role: ["proxy=10.77.0.10"] });
    expect(renderHtml(again, { matrixRows: builtinMatrix().rows })).toBe(a);
  });
});

// ---------------------------------------------------------------------------------------------
// The first screen: checklist per host, what was not seen and why, names beside addresses.

/** The `<li>` of "what was not seen" for one matrix row. */
function notSeenItem(html: string, row: string): string | null {
  return new RegExp(`<li><span class="mono nw">${row}</span>(.*?)</ul></li>`).exec(html)?.[1] ?? null;
}

describe("HTML report: host names, VLAN IDs and MACs beside addresses", () => {
  const dns = conv("10.0.0.5", "10.0.0.53", 53, {
    transport: "udp", protocol: "dns",
    dns: { queries: ["esxi1.example.", "vc.example"], rcodes: ["NOERROR"], answers: [{ name: "esxi1.example.", address: "10.0.1.7" }, { name: "VC.example", address: "10.0.2.2" }] },
  });
  const tls = conv("10.0.0.5", "10.0.2.2", 443, {
    client: { ip: "10.0.0.5", port: 40100, role: "proxy", mac: "02:00:00:00:00:05" },
    server: { ip: "10.0.2.2", port: 443, role: "vcenter", mac: "02:00:00:00:02:02" },
    vlan: 42, protocol: "tls",
    tls: {
      clientVersionCode: 0x0303, versionCode: 0x0303, clientVersion: "TLS 1.2", version: "TLS 1.2", sni: "vc.example", alpn: [], alpnSelected: null, cipher: null, ja3: null, ja3s: null, ja4: null,
      certificate: { subject: "CN=vc.example, O=Example", issuer: "CN=ca", notBefore: "2024-01-01T00:00:00Z", notAfter: "2030-01-01T00:00:00Z", san: ["vc-alt.example", "10.0.2.2", "fd00::2"], chainLength: 1 },
      helloRetryRequest: false, clientHelloSeen: true, serverHelloSeen: true, alerts: [],
      certificateVisible: true, chain: [], chainsToPublicRoot: null, truncated: [],
    },
  });
  const plain = conv("10.0.0.5", "10.0.1.7", 902, { vlan: 7 });
  const r = report([dns, tls, plain], [finding("error", [tls.id], { code: "weak-tls" })], {
    roles: [{ ip: "10.0.1.7", role: "esxi", source: "explicit", reason: "--role esxi=10.0.1.7" }, { ip: "10.0.2.2", role: "vcenter", source: "inferred", reason: "answered 443" }],
  });
  const html = renderHtml(r, { matrixRows: builtinMatrix().rows });

  it("takes names from DNS answers, the SNI and the certificate's CN and DNS SANs, once each, never an address", () => {
    const idx = hostIndex(r);
    expect(idx.get("10.0.1.7")!.names).toEqual([{ name: "esxi1.example", from: ["dns"] }]);
    // "VC.example" from DNS and "vc.example" from the SNI and CN are one name, kept as first seen.
    expect(idx.get("10.0.2.2")!.names).toEqual([{ name: "VC.example", from: ["dns", "sni", "certificate"] }, { name: "vc-alt.example", from: ["certificate"] }]);
    expect(idx.get("10.0.2.2")!.vlans).toEqual([42]);
    expect(idx.get("10.0.2.2")!.macs).toEqual(["02:00:00:00:02:02"]);
    expect(idx.get("10.0.0.5")!.vlans).toEqual([7, 42]);
    expect(idx.get("10.0.0.5")!.names).toEqual([]);
    expect(commonName("O=Example, CN=host.example, OU=x")).toBe("host.example");
    expect(commonName("O=Example")).toBeNull();
  });

  it("keeps at most MAX_NAMES_KEPT names per address and counts the rest", () => {
    const answers = Array.from({ length: MAX_NAMES_KEPT + 5 }, (_, i) => ({ name: `n${i}.example`, address: "10.9.9.9" }));
    const idx = hostIndex(report([conv("10.0.0.5", "10.0.0.53", 53, { dns: { queries: [], rcodes: [], answers } })]));
    expect(idx.get("10.9.9.9")!.names.length).toBe(MAX_NAMES_KEPT);
    expect(idx.get("10.9.9.9")!.moreNames).toBe(5);
  });

  it("shows the names, VLAN and MAC in the roles table, the conversations table, the findings and the diagram", () => {
    const roleRow = /<tr><td class="mono" data-v="4:010\.000\.001\.007">10\.0\.1\.7(.*?)<\/tr>/.exec(html)?.[1];
    expect(roleRow).toContain('<div class="hn"');
    expect(roleRow).toContain(">esxi1.example</div>");
    expect(roleRow).toContain("VLAN 7");
    const convRow = new RegExp(`<tr data-id="${tls.id}"[^>]*>(.*?)</tr>`).exec(html)?.[1] ?? "";
    expect(convRow).toContain("VC.example, vc-alt.example");
    expect(convRow).toContain("VLAN 42 · MAC 02:00:00:00:00:05");
    expect(convRow).toContain("VLAN 42 · MAC 02:00:00:00:02:02");
    // The tooltip says where each name was seen.
    expect(convRow).toContain('title="VC.example (DNS answer, TLS SNI, certificate)&#10;vc-alt.example (certificate)"');
    const card = /<article class="card finding error" id="finding-1">(.*?)<\/article>/.exec(html)?.[1] ?? "";
    expect(card).toContain("10.0.2.2 <span");
    expect(card).toContain("(VC.example …)");
    expect(card).toContain("VLAN 42");
    // The card's hosts: each address of its conversations with role, names, VLAN and MAC.
    expect(card).toMatch(/<dt>Hosts<\/dt><dd class="fhosts"><div><span class="mono nw">10\.0\.0\.5<\/span> <span class="role">proxy<\/span><div class="hl">VLAN 7, 42 · MAC 02:00:00:00:00:05<\/div><\/div><div><span class="mono nw">10\.0\.2\.2<\/span> <span class="role">vcenter<\/span><div class="hn"[^>]*>VC\.example, vc-alt\.example<\/div><div class="hl">VLAN 42 · MAC 02:00:00:00:02:02<\/div><\/div><\/dd>/);
    expect(html).toMatch(/<text class="hostname"[^>]*>VC\.example \+1<\/text>/);
    expect(html).toMatch(/<text class="hostname"[^>]*>esxi1\.example<\/text>/);
  });

  it("with --redact shows the pseudonyms beside the addresses, never a name or MAC from the capture", async () => {
    const real = await reportFor([path.join(FIXTURES, "nginx-sni-vhosts.pcap")]);
    const originals = [...new Set(real.conversations.flatMap((c) => [c.tls?.sni, c.client.mac, c.server.mac]).filter((x): x is string => typeof x === "string"))];
    expect(originals.length).toBeGreaterThan(1);
    expect(renderHtml(real)).toContain(`class="hn"`);
    const h = renderHtml(redactReport(real), { matrixRows: builtinMatrix().rows });
    expect(h).toContain(`class="hn"`);
    for (const o of originals) expect(h, o).not.toContain(o);
  });

  it("shows no name line where no name is known", () => {
    const bare = renderHtml(report([conv("10.0.0.5", "10.0.1.7", 443)]));
    expect(bare).not.toContain('class="hn"');
    expect(bare).not.toContain('class="hostname"');
    expect(bare).not.toContain("VLAN");
  });
});

describe("HTML report: per-host checklist", () => {
  const a = conv("10.0.0.5", "10.0.1.7", 902, { client: { ip: "10.0.0.5", port: 40001, role: "proxy", mac: null }, server: { ip: "10.0.1.7", port: 902, role: "esxi", mac: null }, state: "REJ" });
  const b = conv("10.0.0.5", "10.0.2.2", 443, { client: { ip: "10.0.0.5", port: 40002, role: "proxy", mac: null }, server: { ip: "10.0.2.2", port: 443, role: "vcenter", mac: null } });
  const findings = [
    finding("error", [a.id], { code: "refused", message: "TCP 902 from 10.0.0.5 (proxy) to 10.0.1.7 (esxi): refused", rule: "esxi-902" }),
    finding("warning", [b.id], { code: "weak-tls", message: "TLS 1.0 on TCP 443 to 10.0.2.2 (vcenter)", rule: "vcenter-443" }),
    finding("warning", [], { code: "missing-expected", message: "No TCP 443 from 10.0.0.5 (proxy) to any cloud host in the 9.5 s the capture covers (row cloud-443: always).", rule: "cloud-443" }),
  ];
  const fixFirst: Report["summary"]["fixFirst"] = [
    { host: "10.0.1.7", role: "esxi", action: "start the service on TCP 902, or open it in the host's firewall", impact: "NBD backups of its VMs fail", code: "refused", severity: "error", text: "ESXi 10.0.1.7: start the service on TCP 902…" },
    { host: "the proxy", role: "proxy", action: "check that the proxy can reach its cloud on TCP 443 (none in the capture)", impact: "every job fails", code: "missing-expected", severity: "warning", text: "Proxy the proxy: …" },
    { host: "10.0.2.2", role: "vcenter", action: "enable TLS 1.2 or newer on TCP 443", impact: null, code: "weak-tls", severity: "warning", text: "vCenter 10.0.2.2: enable TLS 1.2…" },
    { host: "10.0.0.5", role: "proxy", action: "find out what opens TCP 8443 to 10.0.3.3", impact: null, code: "unexpected-port", severity: "warning", text: "Proxy 10.0.0.5: find out…" },
  ];
  const r = report([a, b], findings, {
    roles: [{ ip: "10.0.0.5", role: "proxy", source: "explicit", reason: "--role" }],
    summary: { verdict: "fail", coverage: [], fixFirst, filter: null, findings: { error: 1, warning: 2, info: 0 }, conversations: 2, matched: 2, captureSeconds: 9.5 },
  });
  const html = renderHtml(r, { matrixRows: builtinMatrix().rows });
  const cards = [...html.matchAll(/<article class="card host (\w+)" id="host-(\d+)">(.*?)<\/article>/g)];

  it("has one card per host, in the order of what to fix first, right under that list", () => {
    expect(cards.map((c) => [c[1], /<strong class="mono">([^<]*)</.exec(c[3])![1]])).toEqual([["error", "10.0.1.7"], ["warning", "the proxy"], ["warning", "10.0.2.2"]]);
    const fix = html.indexOf('id="fix-first"');
    const list = html.indexOf('id="checklist"');
    expect(fix).toBeGreaterThan(0);
    expect(list).toBeGreaterThan(fix);
    expect(list).toBeLessThan(html.indexOf('id="not-seen"'));
    expect(list).toBeLessThan(html.indexOf("<svg"));
  });

  it("says on each card what to change, on which port, what fails until then, and links the findings behind it", () => {
    const [esxi, proxy, vc] = cards.map((c) => c[3]);
    expect(esxi).toContain("start the service on TCP 902, or open it in the host&#39;s firewall");
    expect(esxi).toContain('<span class="port mono">TCP 902</span>');
    expect(esxi).toContain("<strong>Until then:</strong> NBD backups of its VMs fail");
    expect(esxi).toContain('<a href="#finding-1">finding 1</a>');
    expect(esxi).not.toContain("#finding-2");
    // "the proxy" is every address the proxy has, and its finding has no conversation.
    expect(proxy).toContain(">10.0.0.5</span>");
    expect(proxy).toContain('<a href="#finding-3">finding 3</a>');
    expect(vc).toContain('<a href="#finding-2">finding 2</a>');
    // A line about one of the proxy's addresses goes on the proxy's card, saying which address.
    expect(proxy).toContain('<span class="mono">10.0.0.5</span>: <span class="act">find out what opens TCP 8443 to 10.0.3.3</span>');
    expect(vc).not.toContain("Until then");
  });

  it("has no checklist when there is nothing to fix", () => {
    expect(renderHtml(report([conv("10.0.0.5", "10.0.1.7", 443)]))).not.toContain('id="checklist"');
  });
});

describe("HTML report: what was not seen, and why", () => {
  const seen = conv("10.0.0.5", "10.0.1.7", 902, {
    client: { ip: "10.0.0.5", port: 40001, role: "proxy", mac: null }, server: { ip: "10.0.1.7", port: 902, role: "esxi", mac: null },
    rule: "esxi-902", ruleKind: "matrix", status: "conforming",
  });
  const nv = conv("10.0.0.5", "10.0.2.2", 443, {
    client: { ip: "10.0.0.5", port: 40002, role: "proxy", mac: null }, server: { ip: "10.0.2.2", port: 443, role: "vcenter", mac: null },
    rule: "vcenter-443", ruleKind: "matrix", status: "not-verifiable", limits: ["start-missing", "one-direction"],
  });
  const missing = finding("warning", [], { code: "missing-expected", rule: "cloud-443", message: "No TCP 443 from 10.0.0.5 (proxy) to any cloud host." });
  const r = report([seen, nv], [missing], {
    roles: [{ ip: "10.0.0.5", role: "proxy", source: "explicit", reason: "--role" }],
    summary: {
      verdict: "warn", fixFirst: [], filter: "not udp port 123", findings: { error: 0, warning: 1, info: 0 }, conversations: 2, matched: 2, captureSeconds: 9.5,
      coverage: [
        { code: "filtered", message: 'The packets went through the filter "not udp port 123"; rows ntp-123 are not in the filter, so they are not judged and not missing.', action: "Capture or analyze without the filter to check every row.", inconclusive: false, rows: ["ntp-123"] },
        { code: "one-direction", message: "1 of 2 TCP conversations show one direction only.", action: "Capture on the proxy itself.", inconclusive: false },
      ],
    },
  });
  const rows = builtinMatrix().rows;
  const html = renderHtml(r, { matrixRows: rows });

  it("lists every matrix row with no conversation, and none that had one", () => {
    expect(notSeenItem(html, "esxi-902")).toBeNull();
    expect(notSeenItem(html, "vcenter-443")).toBeNull(); // seen, though not verifiable: listed below instead
    // Optional rows with nothing more to say share one line; every other row has its own.
    const optional = notSeenItem(html, "optional") ?? "";
    for (const row of rows.filter((x) => x.id !== "esxi-902" && x.id !== "vcenter-443")) {
      const own = notSeenItem(html, row.id) !== null;
      const shared = optional.includes(`${row.id} (`);
      expect(own !== shared, row.id).toBe(true);
    }
    expect(html).toContain(`Matrix rows with no conversation (${rows.length - 2} of ${rows.length})`);
  });

  it("says why: a missing-expected finding, the --filter, optional, no host of the role it needs", () => {
    expect(notSeenItem(html, "cloud-443")).toContain('<a href="#finding-1">finding 1</a>: No TCP 443 from 10.0.0.5 (proxy) to any cloud host.');
    expect(notSeenItem(html, "ntp-123")).toContain("Outside the --filter &quot;not udp port 123&quot;: not judged, and not missing.");
    const optional = rows.find((x) => x.required === "optional" && x.client === "proxy")!;
    expect(notSeenItem(html, "optional")).toContain(`Not required in this capture: optional, used only when their work runs — `);
    expect(notSeenItem(html, "optional")).toContain(`${optional.id} (${optional.when.replace(/'/g, "&#39;")})`);
    const guest = rows.find((x) => x.client === "guest")!;
    expect(notSeenItem(html, guest.id)).toContain("No host has the role guest here");
    const ifPresent = rows.find((x) => x.required === "if-present" && x.client === "proxy" && x.servers.includes("cloudcache"))!;
    expect(notSeenItem(html, ifPresent.id)).toContain("Required only towards a host that is cloudcache, and none is in the capture.");
    // The capture's own limits are named once, linking to them.
    expect(html).toContain("The capture&#39;s own limits apply to every row below: one-direction");
  });

  it("lists the conversations that could not be verified, with why", () => {
    const part = html.slice(html.indexOf('id="not-verifiable"'), html.indexOf("</section>", html.indexOf('id="not-verifiable"')));
    expect(part).toContain("Conversations that could not be verified (1)");
    expect(part).toContain(`#${nv.id} 10.0.2.2`.replace("10.0.2.2", "10.0.0.5"));
    expect(part).toContain("(row vcenter-443)");
    expect(part).toContain("start-missing, one-direction: the capture starts after it did");
    expect(part).toContain("only one direction of it was captured");
  });

  it("says so when the matrix rows were not given, and when nothing was left unverified", () => {
    const h = renderHtml(report([seen]));
    expect(h).toContain("The matrix rows were not given to the report");
    expect(h).toContain("None: every conversation on a matrix row could be judged from the capture.");
  });
});

describe("HTML report: content", () => {
  it("puts the verdict and counts first, before the diagram", () => {
    const a = conv("10.0.0.5", "10.0.1.7", 443);
    const html = renderHtml(report([a], [finding("error", [a.id]), finding("warning", [a.id]), finding("warning", [])]));
    const v = html.indexOf('id="verdict"');
    expect(v).toBeGreaterThan(0);
    expect(v).toBeLessThan(html.indexOf("<svg"));
    expect(html).toMatch(/id="verdict"[^>]*>FAIL</);
    expect(html).toContain("1 error · 2 warnings · 0 info");
  });

  it("groups findings by severity, errors first, each with its filter in a code box and a copy button", () => {
    const a = conv("10.0.0.5", "10.0.1.7", 443, { start: "2024-03-01T10:00:03.123456789Z", end: "2024-03-01T10:00:04.000000000Z" });
    const fs = [
      finding("info", [a.id], { message: "third", wiresharkFilter: "udp.port==1" }),
      finding("error", [a.id], { message: "first", wiresharkFilter: "tcp.port==2" }),
      finding("warning", [a.id], { message: "second", wiresharkFilter: "tcp.port==3" }),
    ];
    const html = renderHtml(report([a], fs));
    const section = html.slice(html.indexOf('id="findings"'), html.indexOf('id="matrix"'));
    const order = ["Errors (1)", "first", "Warnings (1)", "second", "Info (1)", "third"].map((s) => section.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    for (const f of fs) {
      const m = new RegExp(`<pre id="([^"]+)">${f.wiresharkFilter.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}</pre><button type="button" data-copy="([^"]+)">`).exec(section);
      expect(m, f.wiresharkFilter).not.toBeNull();
      expect(m![1]).toBe(m![2]);
    }
    // The conversation behind it with its time, to the microsecond.
    expect(section).toContain("2024-03-01 10:00:03.123456");
    expect(section).toContain(`frames ${a.firstFrame}–${a.lastFrame}`);
  });

  it("makes every table sortable, with a header row", () => {
    const a = conv("10.0.0.5", "10.0.1.7", 443);
    const html = renderHtml(report([a], [], { roles: [{ ip: "10.0.0.5", role: "proxy", source: "explicit", reason: "given as --role proxy=10.0.0.5" }] }), {
      matrixRows: builtinMatrix().rows,
    });
    const tables = [...html.matchAll(/<table([^>]*)><thead><tr>/g)].map((m) => m[1]);
    expect(tables.length).toBe(4); // matrix, roles, conversations, captures (no errors: no table)
    for (const t of tables) expect(t).toContain('class="sortable"');
    for (const id of ["t-matrix", "t-roles", "t-conv", "t-captures"]) expect(html).toContain(`id="${id}"`);
  });

  it("lists every matrix row, with how many conversations matched it, as table and Markdown do (view/matrix.ts)", () => {
    const rows = builtinMatrix().rows;
    const a = conv("10.0.0.5", "10.0.1.7", 443, { rule: rows[0].id, ruleKind: "matrix" });
    const b = conv("10.0.0.5", "10.0.1.8", 443, { rule: rows[0].id, ruleKind: "matrix" });
    const c = conv("10.0.0.5", "10.0.0.53", 53, { transport: "udp", rule: "dns-53-udp", ruleKind: "infrastructure" });
    // A role unknown: the conversation could be either of two rows, and counts under both.
    const d = conv("10.0.0.5", "10.0.1.9", 902, { rule: null, ruleKind: "matrix", ruleAlternatives: [rows[0].id, rows[1].id] });
    const html = renderHtml(report([a, b, c, d]), { matrixRows: rows });
    const table = /<table class="sortable" id="t-matrix">[\s\S]*?<\/table>/.exec(html)![0];
    for (const row of rows) expect(table).toContain(`<td class="mono nw">${row.id}</td>`);
    expect(table).toMatch(new RegExp(`<td class="mono nw">${rows[0].id}</td>.*?<td class="num" data-v="3">3</td>`));
    expect(table).toMatch(new RegExp(`<td class="mono nw">${rows[1].id}</td>.*?<td class="num" data-v="1">1</td>`));
    expect(table).toContain("not seen");
    expect(table).toContain("3 conversations (");
    // Infrastructure and related entries are not matrix rows: the conversations table lists them, as table and Markdown do.
    expect(table).not.toContain("dns-53-udp");
  });

  it("gives every element id once, and every #link a target", async () => {
    const r = await reportFor([path.join(FIXTURES, "tcp-udp-failures.pcap")], { role: ["proxy=10.77.0.10"] });
    const html = renderHtml(r, { matrixRows: builtinMatrix().rows });
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(10);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    for (const m of html.matchAll(/href="#([^"]+)"/g)) expect(ids, m[1]).toContain(m[1]);
    for (const m of html.matchAll(/data-copy="([^"]+)"/g)) expect(ids, m[1]).toContain(m[1]);
  });

  it("counts an aggregate entry (conversations folded past the flow table's limit) as the conversations it holds", () => {
    // `aggregate` and `flow` are being added to the record; set them without naming their types.
    const one = conv("10.0.0.5", "10.0.1.1", 1000);
    const folded = Object.assign(conv("10.0.0.5", "10.0.1.1", 1000), { aggregate: { conversations: 500, level: "hosts", serverPorts: { low: 1000, high: 2000 } } });
    const cap = Object.assign(capture(), { flow: { limitHit: true, maxConversations: 1, conversations: 501, listed: 1, aggregated: 500, aggregates: 1 } });
    const html = renderHtml(report([one, folded], [], { captures: [cap] }));
    expect(html).toContain("Conversations (501, in 2 rows)");
    expect(html).toContain("×500 folded");
    expect(html).toContain("500 conversations past the conversation limit, folded (same hosts; ports 1000–2000)");
    expect(html).toContain(">1000–2000/tcp<");
    expect(html).toContain("1000/tcp: 501 conversations");
    expect(html).toContain("conversation limit 1 reached: 501 seen, 1 listed, 500 folded into 1 aggregate entry");
  });

  it("writes the diagram's counts with digit grouping, as the other sections and formats do (view/format.ts)", () => {
    const folded = Object.assign(conv("10.0.0.5", "10.0.1.1", 1000), { aggregate: { conversations: 1500, level: "hosts", serverPorts: { low: 1000, high: 2000 } } });
    const svg = /<svg[\s\S]*<\/svg>/.exec(renderHtml(report([folded])))![0];
    expect(svg).toContain("1000/tcp: 1,500 conversations");
    expect(svg).not.toContain("1500 conversations");
  });

  it("says so when the capture has no conversation", () => {
    const html = renderHtml(report([]));
    expect(html).toContain("nothing to draw");
    expect(html).not.toContain("<svg");
  });
});

describe("HTML report: diagram", () => {
  const chipsOf = (html: string) => /<g class="chips">([\s\S]*?)<\/svg>/.exec(html)![1];
  const chipFill = (html: string, text: string): string[] =>
    [...chipsOf(html).matchAll(/<g class="edge"[^>]*><title>[^<]*<\/title><rect [^>]*fill="(#[0-9a-f]{6})"\/><text [^>]*>([^<]*)<\/text><\/g>/g)].filter((m) => m[2] === text).map((m) => m[1]);

  it("colours each port by the worst finding on it: red error, amber warning, grey info or no rule, green matched and clean", () => {
    const proxy = { ip: "10.0.0.5", port: 0, role: "proxy", mac: null };
    const e = conv("10.0.0.5", "10.0.1.1", 902, { client: { ...proxy, port: 1 }, rule: "esxi-902", ruleKind: "matrix" });
    const e2 = conv("10.0.0.5", "10.0.1.1", 902, { client: { ...proxy, port: 2 }, rule: "esxi-902", ruleKind: "matrix" });
    const w = conv("10.0.0.5", "10.0.1.1", 8443, { client: { ...proxy, port: 3 } });
    const i = conv("10.0.0.5", "10.0.1.1", 5000, { client: { ...proxy, port: 4 } });
    const ok = conv("10.0.0.5", "10.0.1.1", 443, { client: { ...proxy, port: 5 }, rule: "vcenter-443", ruleKind: "matrix" });
    const bare = conv("10.0.0.5", "10.0.1.2", 7000, { client: { ...proxy, port: 6 } });
    const html = renderHtml(report([e, e2, w, i, ok, bare], [finding("error", [e.id]), finding("warning", [w.id, e2.id]), finding("info", [i.id])]));
    expect(chipFill(html, "902/tcp")).toEqual(["#c5221f"]); // one chip for both 902 conversations, the worse of the two
    expect(chipFill(html, "8443/tcp")).toEqual(["#e8a200"]);
    expect(chipFill(html, "5000/tcp")).toEqual(["#6b7280"]);
    expect(chipFill(html, "7000/tcp")).toEqual(["#6b7280"]);
    expect(chipFill(html, "443/tcp")).toEqual(["#1e8e3e"]);
    // Chips are in order of severity, the arrow in the worst colour.
    const chips = [...chipsOf(html).matchAll(/<title>([^<]*)<\/title><rect [^>]*\/><text [^>]*>([^<]+)<\/text>/g)]
      .filter((m) => m[1].includes("→ 10.0.1.1 "))
      .map((m) => m[2]);
    expect(chips).toEqual(["902/tcp", "8443/tcp", "5000/tcp", "443/tcp"]);
    expect(html).toMatch(/<path d="[^"]*" fill="none" stroke="#c5221f"[^>]*marker-end="url\(#ah-error\)"/);
  });

  it("labels boxes with address and role and puts the proxy left of its servers, its clients left of it", () => {
    const esxiOpensToProxy = conv("10.0.1.1", "10.0.0.5", 902, { client: { ip: "10.0.1.1", port: 1, role: "esxi", mac: null }, server: { ip: "10.0.0.5", port: 902, role: "proxy", mac: null } });
    const toVcenter = conv("10.0.0.5", "10.0.2.2", 443, { client: { ip: "10.0.0.5", port: 2, role: "proxy", mac: null }, server: { ip: "10.0.2.2", port: 443, role: "vcenter", mac: null } });
    const html = renderHtml(report([esxiOpensToProxy, toVcenter]));
    const boxX = (ip: string) => {
      const m = new RegExp(`<rect x="([\\d.]+)"[^>]*/><text [^>]*>[^<]*(?:<tspan[^>]*>[^<]*</tspan>)?</text><text [^>]*>${ip.replace(/\./g, "\\.")}</text>`).exec(html);
      expect(m, ip).not.toBeNull();
      return Number(m![1]);
    };
    expect(boxX("10.0.1.1")).toBeLessThan(boxX("10.0.0.5"));
    expect(boxX("10.0.0.5")).toBeLessThan(boxX("10.0.2.2"));
    expect(html).toMatch(/>vcenter<\/text><text [^>]*>10\.0\.2\.2</);
  });

  it("with no proxy and no host of two peers, puts clients left of servers and names no hub", () => {
    const a = conv("10.0.0.1", "10.0.9.1", 53, { transport: "udp" });
    const b = conv("10.0.0.2", "10.0.9.2", 80);
    const html = renderHtml(report([a, b]));
    expect(html).not.toContain("busiest host");
    expect(html).toContain(">clients</text>");
    expect(html).toContain(">servers</text>");
    const x = (ip: string) => Number(new RegExp(`<rect x="([\\d.]+)"[^>]*/><text [^>]*>[^<]*</text><text [^>]*>${ip.replace(/\./g, "\\.")}</text>`).exec(html)![1]);
    expect(x("10.0.0.1")).toBe(x("10.0.0.2"));
    expect(x("10.0.9.1")).toBe(x("10.0.9.2"));
    expect(x("10.0.0.1")).toBeLessThan(x("10.0.9.1"));
  });

  it(`draws at most ${MAX_HOSTS} boxes, grouping the rest as "N other hosts"`, () => {
    const convs: ConversationRecord[] = [];
    for (let k = 0; k < 40; k++) convs.push(conv("10.0.0.5", `10.9.0.${k + 1}`, 443, { client: { ip: "10.0.0.5", port: 1000 + k, role: "proxy", mac: null } }));
    const html = renderHtml(report(convs));
    const svg = /<svg[\s\S]*<\/svg>/.exec(html)![0];
    const boxes = /<g class="boxes">([\s\S]*?)<\/g><g class="chips">/.exec(svg)![1].match(/<rect /g)!.length;
    expect(boxes).toBe(MAX_HOSTS);
    // 41 hosts, 30 boxes: the proxy, 28 servers, and one box standing for the other 12.
    expect(svg).toContain(">12 other hosts<");
    expect(html).toContain("12 hosts share one box");
    // The grouped ones are the servers that sort last by address (all else being equal).
    expect(svg).toContain(">10.9.0.28<");
    expect(svg).not.toContain(">10.9.0.29<");
  });

  it("folds hundreds of ports between two hosts into a few chips and a +N chip", () => {
    const convs: ConversationRecord[] = [];
    for (let p = 1; p <= 300; p++) convs.push(conv("10.0.0.5", "10.0.1.1", p));
    const html = renderHtml(report(convs));
    const chips = [...chipsOf(html).matchAll(/<text [^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
    expect(chips).toEqual(["1/tcp", "2/tcp", "3/tcp", "+297 ports"]);
  });
});
