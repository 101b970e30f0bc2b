/**
 * --redact on real reports: the pipeline runs on the project's recordings and the public corpus,
 * the report is redacted, and its JSON is searched for every address (in every written form),
 * server name, certificate name, DNS name, Host header, RDP user and capture file name the
 * unredacted report holds: none may be left. Pseudonyms must be consistent (one value, one
 * pseudonym; two values, two pseudonyms), keep the roles, and leave everything else as it was.
 */
import { existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runAnalyze } from "../../src/cli/analyze.js";
import { reportFor } from "../../src/pipeline/index.js";
import { runCapture } from "../../src/cli/capture.js";
import { formatIpv4, formatIpv6, parseIp } from "../../src/decode/addr.js";
import { MARKING_NAMER, replaceMarks } from "../../src/policy/namer.js";
import type { Report } from "../../src/report/record.js";
import { REDACTION_NOTE, redactReport, redactReportWithMap, unmarkReport } from "../../src/report/redact.js";
import { HAVE_PUBLIC, PUBLIC_DIR, REPO_ROOT, SKIP_MESSAGE, corpusFiles } from "../support/corpus.js";
import { ALERT_HANDSHAKE_FAILURE, Builder, ascii, clientHello, dns, pcapFile, rdpConnectionRequest, udp } from "../tools/make-hostile.js";

const RECORDED = path.join(REPO_ROOT, "fixtures/recorded");
const recorded = readdirSync(RECORDED)
  .filter((f) => /\.(pcap|pcapng|pcap\.gz)$/.test(f))
  .sort()
  .map((f) => path.join(RECORDED, f));

/** Names docs/redaction.md says stay as they are: they say nothing about a customer's network. */
const KEPT_NAMES = new Set(["localhost", "localhost.localdomain", "druva.com", "druva.net", "amazonaws.com"]);

// ---------------------------------------------------------------------------------------------
// What the unredacted report holds that must go.

function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v !== null && typeof v === "object") for (const x of Object.values(v)) strings(x, out);
  return out;
}

/** Every address written anywhere in the report (fields and free text), canonical text. */
function addressesIn(r: Report): Set<string> {
  const out = new Set<string>();
  const add = (s: string) => {
    const a = parseIp(s);
    if (a) out.add(a.version === 4 ? formatIpv4(a.bytes) : formatIpv6(a.bytes));
  };
  for (const c of r.conversations) {
    add(c.client.ip);
    add(c.server.ip);
  }
  for (const x of r.roles) add(x.ip);
  for (const s of strings(r)) {
    for (const m of s.matchAll(/(?<![0-9.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9]|\.\d)/g)) add(m[0]);
    for (const m of s.matchAll(/(?<![0-9A-Za-z_.:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Za-z_:])/g)) add(m[0]);
  }
  return out;
}

/** Every way an address can be written that the redacted report must not contain. */
function writtenForms(ip: string): RegExp[] {
  const a = parseIp(ip)!;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const v4 = (s: string) => new RegExp(`(?<![0-9.])${esc(s)}(?![0-9]|\\.\\d)`, "i");
  const v6 = (s: string) => new RegExp(`(?<![0-9a-f:])${esc(s)}(?![0-9a-f:])`, "i");
  if (a.version === 4) {
    const b = a.bytes;
    const hex = (i: number) => ((b[i] << 8) | b[i + 1]).toString(16);
    return [
      v4(ip),
      v6(`::ffff:${hex(0)}:${hex(2)}`), // IPv4-mapped, hex tail
      v4(`${b[3]}.${b[2]}.${b[1]}.${b[0]}.in-addr.arpa`), // reverse DNS
    ];
  }
  const groups = Array.from({ length: 8 }, (_, i) => ((a.bytes[2 * i] << 8) | a.bytes[2 * i + 1]).toString(16));
  const nibbles = Array.from(a.bytes)
    .flatMap((x) => [x >> 4, x & 15])
    .reverse()
    .map((x) => x.toString(16))
    .join(".");
  const forms = [v6(ip), v6(groups.join(":")), v6(groups.map((g) => g.padStart(4, "0")).join(":")), v6(`${nibbles}.ip6.arpa`)];
  return forms;
}

/** Names, users and file names the unredacted report holds. */
function namesIn(r: Report): Set<string> {
  const out = new Set<string>();
  const add = (s: string | null | undefined) => {
    if (!s) return;
    const n = s.trim().replace(/\.+$/, "");
    if (n === "" || parseIp(n) || KEPT_NAMES.has(n.toLowerCase())) return;
    out.add(n.startsWith("*.") ? n.slice(2) : n);
  };
  for (const c of r.captures) {
    add(c.file);
    add(path.basename(c.file));
  }
  for (const c of r.conversations) {
    add(c.tls?.sni);
    for (const s of c.tls?.certificate?.san ?? []) add(s);
    for (const dn of [c.tls?.certificate?.subject, c.tls?.certificate?.issuer]) {
      for (const m of (dn ?? "").matchAll(/(?:^|, )(CN|O|OU|L|ST|DC|emailAddress)=((?:(?!, [A-Za-z]+=).)*)/g)) add(m[2]);
    }
    for (const q of c.dns?.queries ?? []) add(q);
    if (c.http?.host) add(c.http.host.replace(/:\d*$/, "").replace(/^\[|\]$/g, ""));
    add(c.rdp?.cookie);
    // Host names inside banners: dotted words whose last label is alphabetic (not path segments
    // after a "/", such as the cmd.exe of an HTTP request line).
    for (const b of [c.banner, c.ssh?.clientBanner, c.ssh?.serverBanner]) {
      for (const m of (b ?? "").matchAll(/(?<![\w.\/-])(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?![\w-])/g)) add(m[0]);
    }
  }
  return out;
}

function nameRegex(n: string): RegExp {
  const esc = n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![A-Za-z0-9_.-])${esc}(?![A-Za-z0-9_-]|\\.[A-Za-z0-9])`, "i");
}

// ---------------------------------------------------------------------------------------------

/** The plain report and the one --redact builds (its sentences written with marks), for the same inputs. */
async function bothReports(files: string[], o: Parameters<typeof reportFor>[1] = {}): Promise<{ r: Report; marked: Report }> {
  const r = await reportFor(files, o);
  const marked = await reportFor(files, { ...o, redact: true });
  // The marks carry exactly the values: put back, they give the plain report.
  expect(unmarkReport(marked)).toEqual(r);
  return { r, marked };
}

/** The checks every redacted report must pass; returns the address → pseudonym map seen. */
function checkRedacted(r: Report, marked: Report = r): Map<string, string> {
  const before = JSON.stringify(marked);
  const red = redactReport(marked);
  expect(JSON.stringify(marked), "the input report is untouched").toBe(before);
  expect(red.redaction).toEqual({ note: REDACTION_NOTE });
  const text = JSON.stringify(red);
  expect(text, "no mark is left").not.toMatch(/[\uE000-\uE0FF]/);

  for (const ip of addressesIn(r)) {
    for (const re of writtenForms(ip)) expect(text, `${ip} written as ${re.source}`).not.toMatch(re);
  }
  // A one-label name ("a", "the", "esxi07") is replaced where it stands as a field's value, and in
  // the report's sentences and the detectors' anomaly messages only where they quote it (checked
  // in the planted test): the same word as an ordinary word of a sentence stays.
  const prose = (x: Report) => ({
    ...x,
    conversations: x.conversations.map((c) => ({ ...c, anomalies: c.anomalies.map((a) => ({ ...a, message: "" })) })),
    findings: x.findings.map((f) => ({ ...f, message: "", fix: "" })),
    roles: x.roles.map((y) => ({ ...y, reason: "" })),
    summary: { ...x.summary, coverage: [], fixFirst: [] },
    redaction: undefined,
  });
  const nonProse = strings(prose(red)).join("\n");
  for (const n of namesIn(r)) expect(n.includes(".") ? text : nonProse, `name ${n}`).not.toMatch(nameRegex(n));

  // One address, one pseudonym; two addresses, two pseudonyms; the role inside it.
  const pseudo = new Map<string, string>();
  const owner = new Map<string, string>();
  const note = (orig: string, red: string) => {
    expect(pseudo.get(orig) ?? red, `${orig} has one pseudonym`).toBe(red);
    expect(owner.get(red) ?? orig, `${red} stands for one address`).toBe(orig);
    pseudo.set(orig, red);
    owner.set(red, orig);
    expect(red).toMatch(/^\[[a-z-]+-\d+\]$/);
  };
  r.conversations.forEach((c, i) => {
    const d = red.conversations[i];
    note(c.client.ip, d.client.ip);
    note(c.server.ip, d.server.ip);
    for (const [e, de] of [[c.client, d.client], [c.server, d.server]] as const) {
      expect(de.role).toBe(e.role);
      if (e.role) expect(de.ip.startsWith(`[${e.role}-`), `${de.ip} shows role ${e.role}`).toBe(true);
      expect(de.port).toBe(e.port);
    }
    // What is kept is kept.
    expect([d.transport, d.state, d.history, d.protocol, d.start, d.end, d.rule]).toEqual([c.transport, c.state, c.history, c.protocol, c.start, c.end, c.rule]);
    expect([d.tls?.version, d.tls?.clientVersion, d.tls?.cipher, d.tls?.ja3, d.tls?.ja3s, d.tls?.ja4, d.tls?.alpn]).toEqual([
      c.tls?.version, c.tls?.clientVersion, c.tls?.cipher, c.tls?.ja3, c.tls?.ja3s, c.tls?.ja4, c.tls?.alpn,
    ]);
    expect([d.http?.method, d.dns?.rcodes, d.ntp, d.icmp, d.tcp, d.packets, d.bytes]).toEqual([c.http?.method, c.dns?.rcodes, c.ntp, c.icmp, c.tcp, c.packets, c.bytes]);
  });
  r.roles.forEach((x, i) => {
    note(x.ip, red.roles[i].ip);
    expect(red.roles[i].role).toBe(x.role);
    expect(red.roles[i].ip.startsWith(`[${x.role}-`)).toBe(true);
  });
  // Findings name the same pseudonyms as the conversations; filters stay filter-shaped.
  r.findings.forEach((f, i) => {
    const d = red.findings[i];
    expect([d.code, d.severity, d.rule, d.conversations, d.frames]).toEqual([f.code, f.severity, f.rule, f.conversations, f.frames]);
    for (const [orig, p] of pseudo) {
      if (nameRegex(orig).test(f.wiresharkFilter)) expect(d.wiresharkFilter, `${orig} → ${p} in the filter`).toContain(p);
      if (nameRegex(orig).test(f.message)) expect(d.message).toContain(p);
    }
    expect(d.wiresharkFilter).toMatch(/^[a-z0-9.=&|!(){} \[\]-]+$/);
  });
  // Numbers, booleans, nulls and the shape are untouched: blank every string and compare.
  const blank = (v: unknown): unknown =>
    typeof v === "string" ? "" : Array.isArray(v) ? v.map(blank) : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, blank(x)])) : v;
  const { redaction: _note, ...rest } = red;
  expect(blank(rest)).toEqual(blank(r));
  return pseudo;
}

describe("redaction of the recorded captures (fixtures/recorded)", () => {
  for (const f of recorded) {
    it(path.basename(f), async () => {
      const { r, marked } = await bothReports([f]);
      expect(r.conversations.length).toBeGreaterThan(0);
      checkRedacted(r, marked);
    });
  }

  it("all recordings in one report: numbering runs across captures, capture names are pseudonyms", async () => {
    const { r, marked } = await bothReports(recorded);
    const pseudo = checkRedacted(r, marked);
    expect(new Set(pseudo.values()).size).toBe(pseudo.size);
    const red = redactReport(marked);
    red.captures.forEach((c, i) => {
      expect(c.file).toBe(`[capture-${i + 1}]${r.captures[i].file.endsWith(".pcap.gz") ? ".pcap.gz" : path.extname(r.captures[i].file)}`);
    });
  });

  it("explicit roles from --role (a CIDR) and from a roles file: reasons keep the role, lose the network and the file's path", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pnc-redact-"));
    const rolesFile = path.join(dir, "acme-site-roles.json");
    writeFileSync(rolesFile, JSON.stringify({ roles: { esxi: ["10.77.0.20"] } }));
    const { r, marked } = await bothReports([path.join(RECORDED, "vmware-authd.pcap")], { role: ["proxy=10.77.0.0/28"], roles: rolesFile });
    const reasons = r.roles.map((x) => x.reason);
    expect(reasons.some((x) => x.includes("10.77.0.0/28"))).toBe(true);
    expect(reasons.some((x) => x.includes(rolesFile))).toBe(true);
    checkRedacted(r, marked);
    const red = redactReport(marked);
    const proxy = red.roles.find((x) => x.role === "proxy")!;
    expect(proxy.reason).toBe("given as --role proxy=[net-1]/28");
    const esxi = red.roles.find((x) => x.role === "esxi")!;
    expect(esxi.reason).toBe("given as [roles-file]: roles.esxi[0]");
    expect(JSON.stringify(red)).not.toContain("acme-site-roles");
  });
});

describe.skipIf(!HAVE_PUBLIC)(`redaction of the public corpus${HAVE_PUBLIC ? "" : ` (${SKIP_MESSAGE})`}`, () => {
  for (const f of corpusFiles(PUBLIC_DIR)) {
    it(path.basename(f), async () => {
      const { r, marked } = await bothReports([f]);
      checkRedacted(r, marked);
    });
  }
});

describe("text inside the report", () => {
  /**
   * A real report (TLS 1.2 with SNI and certificate) whose free-text fields are then overwritten:
   * the banner is replaced whole, the anomaly message (no quote in it) gets the second net.
   */
  async function withText(banner: string, message: string): Promise<{ r: Report; red: Report }> {
    const r = await reportFor([path.join(RECORDED, "tls12-sni-alpn.pcap")]);
    r.conversations[0].banner = banner;
    r.conversations[0].anomalies.push({ name: "test_anomaly", message: banner });
    if (r.findings.length === 0) throw new Error("fixture has no finding to write into");
    r.findings[0].message = message;
    return { r, red: redactReport(r) };
  }

  it("an address in any written form gets the pseudonym of the address", async () => {
    const { r, red } = await withText(
      "peer ::ffff:10.77.0.20 / FD77:0000:0000:0000:0000:0000:0000:0020 / [fd77::20]:443 / 10.77.0.20:443 / fd77:0:0:0:0:0:0:20 / 20.0.77.10.in-addr.arpa",
      "to 10.77.0.20, fd77::20.",
    );
    const server = red.conversations[0].server.ip;
    expect(r.conversations[0].server.ip).toBe("10.77.0.20");
    expect(red.conversations[0].banner).toMatch(/^\[banner-\d+\]$/);
    const b = red.conversations[0].anomalies.at(-1)!.message;
    const v6 = /\/ (\[[a-z-]+-\d+\]) \//.exec(b)![1];
    expect(b).toBe(`peer ${server} / ${v6} / ${v6}:443 / ${server}:443 / ${v6} / ${server}.in-addr.arpa`);
    expect(red.findings[0].message).toBe(`to ${server}, ${v6}.`);
    expect(v6).not.toBe(server);
  });

  it("networks, MACs, e-mail addresses and host names in text from the wire; file extensions and versions stay", async () => {
    const { red } = await withText(
      "220 mail.acme-corp.example ESMTP (10.1.0.0/16, 00:0c:29:ab:cd:ef, 000c.29ab.cdef, admin@acme-corp.com) GET /index.html OpenSSH_8.2p1 TLS 1.2",
      "x",
    );
    // The conversation's own MACs (client.mac, server.mac) come first: the banner's is the third.
    expect(red.conversations[0].client.mac).toBe("[mac-1]");
    expect(red.conversations[0].anomalies.at(-1)!.message).toBe(
      "220 [name-2].example ESMTP ([net-1]/16, [mac-3], [mac-3], [email-1]) GET /index.html OpenSSH_8.2p1 TLS 1.2",
    );
    expect(red.conversations[0].banner).toMatch(/^\[banner-\d+\]$/);
  });

  it("the second net, in text from the wire: %2E dots, names before .html, _x and -x, labels over 63, hex IPv4, bare MACs", async () => {
    const long = "y".repeat(70);
    const { r, red } = await withText(
      `see files%2Eacme-corp%2Ecom, vc01.acme-corp.com.html, nas01.acme-corp.com_x, esx07.acme-corp.com-x, ${long}.acme-corp.com, 0x0A4D0014, 02163eaabbcc; index.html, cmd.exe and 123456789012 stay`,
      "x",
    );
    const m = red.conversations[0].anomalies.at(-1)!.message;
    for (const s of ["acme-corp", "vc01", "nas01", "esx07", long, "0a4d0014", "02163eaabbcc"]) expect(m.toLowerCase(), s).not.toContain(s);
    const server = red.conversations[0].server.ip;
    expect(r.conversations[0].server.ip).toBe("10.77.0.20");
    expect(m).toMatch(/^see \[name-\d+\]\.com, \[name-\d+\]\.com\.html, \[name-\d+\]\.com_x, \[name-\d+\]\.com-x, \[name-\d+\], /);
    expect(m).toContain(`, ${server}, [mac-`);
    expect(m).toMatch(/; index\.html, cmd\.exe and 123456789012 stay$/);
  });

  it("marks carry any value exactly, whatever bytes it has", () => {
    for (const v of ["evil.example<script>\uE003\uE002name:AA\uE003", "b\u00fccher.de", " spaced \"quoted\" ", ""]) {
      const m = MARKING_NAMER.wire("name", v);
      expect(m).toMatch(/^\S+$/);
      expect(replaceMarks(`for ${m}.`, (k, x) => `<${k}:${x}>`)).toBe(`for <name:${v}>.`);
    }
  });

  it("a filter keeps its field names; the report's own prose keeps role words", async () => {
    const { red } = await withText("x", "TCP 443 from 10.77.0.10 (proxy) to 10.77.0.20: ip.addr==10.77.0.10 && tcp.port==443 for tls12.pnc.test");
    expect(red.findings[0].message).toMatch(/^TCP 443 from \[proxy-1\] \(proxy\) to \[[a-z]+-\d+\]: ip\.addr==\[proxy-1\] && tcp\.port==443 for \[name-1\]\.test$/);
  });

  it("certificate names: CN and SAN share the SNI's pseudonym, the country stays, other attributes get their own", async () => {
    const r = await reportFor([path.join(RECORDED, "tls12-sni-alpn.pcap")]);
    const t = r.conversations[0].tls!;
    t.certificate!.subject = "C=US, ST=California, O=Acme, Inc., OU=IT, CN=tls12.pnc.test, emailAddress=pki@acme.com";
    t.certificate!.issuer = "C=US, O=Acme, Inc., CN=Acme Root CA";
    t.certificate!.san = ["tls12.pnc.test", "*.pnc.test", "10.77.0.20"];
    const red = redactReport(r).conversations[0];
    expect(red.tls!.sni).toBe("[name-1].test");
    expect(red.tls!.certificate!.subject).toBe("C=US, ST=[state-1], O=[org-1], OU=[unit-1], CN=[name-1].test, emailAddress=[email-1]");
    expect(red.tls!.certificate!.issuer).toBe("C=US, O=[org-1], CN=[cn-1]");
    expect(red.tls!.certificate!.san).toEqual(["[name-1].test", "*.[name-2].test", red.server.ip]);
  });

  it("kept names and suffixes: the Phoenix cloud's domains and localhost", async () => {
    const r = await reportFor([path.join(RECORDED, "dns-udp-tcp.pcap")]);
    r.conversations[0].dns!.queries = ["tenant7.druva.com", "druva.com", "bucket-x.s3.amazonaws.com", "localhost", "esxi01.lab.local", "_ldap._tcp.dc.acme.internal"];
    const red = redactReport(r).conversations[0];
    expect(red.dns!.queries).toEqual(["[name-1].druva.com", "druva.com", "[name-2].amazonaws.com", "localhost", "[name-3].local", "_ldap._tcp.[name-4].internal"]);
  });

  it("pseudonyms come from a per-report map, not a hash: the same address is numbered by its order in each report", async () => {
    const a = await reportFor([path.join(RECORDED, "tcp-udp-v4.pcap")]);
    const b = structuredClone(a);
    // Swap client and server of the first conversation in b: numbering follows first appearance.
    const c = b.conversations[0];
    [c.client.ip, c.server.ip] = [c.server.ip, c.client.ip];
    const ra = redactReportWithMap(a).map.filter((e) => e.kind === "address");
    const rb = redactReportWithMap(b).map.filter((e) => e.kind === "address");
    const pa = new Map(ra.map((e) => [e.original, e.pseudonym]));
    const pb = new Map(rb.map((e) => [e.original, e.pseudonym]));
    const roleless = [...pa.keys()].filter((ip) => /^\[host-/.test(pa.get(ip)!) && /^\[host-/.test(pb.get(ip) ?? ""));
    expect(roleless.length).toBeGreaterThanOrEqual(2);
    expect(roleless.some((ip) => pa.get(ip) !== pb.get(ip))).toBe(true);
  });

  it("the map lists every replacement once, original and pseudonym", async () => {
    const r = await reportFor([path.join(RECORDED, "nginx-sni-vhosts.pcap")]);
    const { report, map } = redactReportWithMap(r);
    const text = JSON.stringify(report);
    expect(new Set(map.map((e) => e.pseudonym)).size).toBe(map.length);
    for (const e of map) {
      expect(text).toContain(e.pseudonym);
      expect(text).not.toContain(`"${e.original}"`);
    }
    expect(map.find((e) => e.original === "a.pnc.test")?.kind).toBe("name");
  });
});

describe("text scanning never throws, never leaks, and stays linear", () => {
  /** xorshift32, so a failure can be replayed from its seed. */
  function rng(seed: number) {
    let x = seed >>> 0 || 1;
    return () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
  }
  const ADDRS = ["10.1.2.3", "192.168.200.7", "fd00:1::7", "2001:db8::42", "fe80::20c:29ff:feab:cdef"];
  const NAMES = ["vc01.acme.corp", "esx-07.lab.acme.com", "files.example.org"];
  const GLUE = [" ", ", ", ":", "::", ".", "/", "[", "]", "(", ")", "=", "==", "@", "-", "_", "\t", "%", "x", "0", "ff", ":443", "/24", "\u00e9", "\uE000"];

  it("2000 seeded random strings of addresses, names and punctuation", async () => {
    const base = await reportFor([path.join(RECORDED, "tls12-sni-alpn.pcap")]);
    for (let seed = 1; seed <= 2000; seed++) {
      const rand = rng(seed);
      const pick = <T,>(a: T[]) => a[Math.floor(rand() * a.length)];
      const used: string[] = [];
      let s = "";
      for (let i = 0; i < 12; i++) {
        const k = rand();
        if (k < 0.3) {
          const a = pick(ADDRS);
          used.push(a);
          s += ` ${a} `;
        } else if (k < 0.45) {
          const n = pick(NAMES);
          used.push(n);
          s += ` ${n} `;
        } else s += pick(GLUE);
      }
      const r = structuredClone(base);
      r.conversations[0].banner = s;
      r.conversations[0].anomalies.push({ name: "test_anomaly", message: s });
      r.findings[0].message = s;
      const red = redactReport(r);
      expect(red.conversations[0].banner).toMatch(/^\[banner-\d+\]$/);
      for (const field of [red.conversations[0].anomalies.at(-1)!.message, red.findings[0].message]) {
        for (const u of used) {
          // Names are only promised in text from the wire (the anomaly); addresses everywhere.
          if (NAMES.includes(u) && field === red.findings[0].message) continue;
          expect(field.toLowerCase(), `seed ${seed}: ${JSON.stringify(s)}`).not.toContain(u.toLowerCase());
        }
      }
    }
  });

  it("100 KB runs of hex and colons, dots and labels, at-signs are redacted (a backtracking pattern would hang here until the test's timeout: no clock is read)", async () => {
    const r = await reportFor([path.join(RECORDED, "tls12-sni-alpn.pcap")]);
    r.conversations[0].banner = "a".repeat(50_000) + ":" + "b".repeat(50_000);
    r.conversations[0].anomalies.push({ name: "x", message: "[" + "1:".repeat(50_000) });
    r.conversations[0].anomalies.push({ name: "y", message: "u@" + "b".repeat(100_000) });
    r.conversations[0].anomalies.push({ name: "z", message: ("label." as string).repeat(20_000) + "1" });
    const red = redactReport(r);
    // The banner is a wire string, replaced whole; the anomalies all come back (their runs are no names or addresses).
    expect(red.conversations[0].banner).not.toContain("aaaaaaaa");
    expect(red.conversations[0].anomalies.length).toBe(r.conversations[0].anomalies.length);
  });
});

// ---------------------------------------------------------------------------------------------
// The odd shapes of issue 13, planted in a capture built byte by byte (test/tools/make-hostile.ts
// builds the layers, one comment per field), analyzed with --redact into every format.

const LAN = (last: number): number[] => [10, 66, 0, last];
const PROXY_IP = LAN(10);
/** UTF-8 bytes as a "binary" string, so that the builders (one char = one byte) send them as they are. */
const utf8 = (s: string): string => Buffer.from(s, "utf8").toString("latin1");
const crlf = (s: string): number[] => ascii(s + "\r\n");

const PLANTED = {
  sniScript: "evil.example<script>alert(1)</script>",
  sniIdn: "bücher.acme-corp.de",
  sniUpperDot: "VCENTER01.Corp-Lab.LOCAL.",
  sniLong: "x".repeat(70) + ".longlabel.example",
  sniUnderscore: "backup_srv01.acme-corp.internal",
  /** One-label English words as an SNI, a Host and DNS names: replaced where they stand, never in sentences. */
  sniWord: "a",
  hostWord: "from",
  dnsWords: ["the", "no", "a"],
  uri: "/backup/vc01.acme-corp.com.html?u=jdoe_x&next=files%2Eacme-corp%2Ecom&mac=02163eaabbcc",
  vsphere: "/sdk/vimService?host=esx07.acme-corp.com-x",
  hostIdn: "BÜCHER.acme-corp.de:443",
  plainBanner: "220 ftp.acme-corp.com_x ready at ::ffff:10.66.0.99 (0x0A420063, 02:16:3e:aa:bb:cc)",
  authdBanner: "220 VMware Authentication Daemon Version 1.10: SSL Required, esx07.acme-corp.com",
  authdClient: "USER jdoe@acme-corp.com nas01.acme-corp.com.html",
  sshServer: "SSH-2.0-OpenSSH_8.9p1 nas01_x.acme-corp.com 0x0a420063 02163eaabbcc",
  rdpCookie: "Cookie: mstshash=JDOE-LAPTOP",
  dnsNames: ["NAS01.Acme-Corp.LOCAL", "_ldap._tcp.dc01.acme-corp.local", "_secret-host.acme-corp.local"],
  dnsAnswer: { name: "vcenter02.corp-lab.local", address: LAN(80) },
};

/** Pieces of the planted values that name the "customer": none may appear in any format, in any case. */
const SECRETS = [
  "acme-corp", "acme%2dcorp", "corp-lab", "jdoe", "esx07", "nas01", "vc01", "backup_srv01", "longlabel", "x".repeat(70), "evil.example",
  "bücher", "b\\xc3\\xbc", "büch", "\\xc3\\x9c", "vcenter01", "vcenter02", "_secret-host", "dc01", "10.66.0.", "0a420063", "02163eaabbcc",
  "02:16:3e:aa:bb:cc", "a42:63", "a42:14", "a42:a",
];

/** A DNS response (RFC 1035 §4.1): the question and one A record answering it. */
function dnsAnswer(id: number, labels: readonly string[], address: readonly number[]): number[] {
  const name = [...labels.flatMap((l) => [l.length, ...ascii(l)]), 0x00]; // labels, then the root
  return [
    ...[id >>> 8, id & 0xff], // ID
    0x81, 0x80, // flags: QR, RD, RA, RCODE 0
    0, 1, // QDCOUNT
    0, 1, // ANCOUNT
    0, 0, // NSCOUNT
    0, 0, // ARCOUNT
    ...name, 0, 1, 0, 1, // QNAME, QTYPE A, QCLASS IN
    ...name, // answer NAME (written out, no compression)
    0, 1, 0, 1, // TYPE A, CLASS IN
    0, 0, 0x0e, 0x10, // TTL 3600
    0, 4, // RDLENGTH
    ...address, // RDATA: the IPv4 address
  ];
}

function plantedPcap(): Uint8Array {
  const b = new Builder();
  const tls = (last: number, sni: string) =>
    b.tcpConversation(PROXY_IP, 41000 + last, LAN(last), 443, [
      [true, clientHello(sni, ["http/1.1"])],
      [false, ALERT_HANDSHAKE_FAILURE],
    ]);
  // TLS to 443 with the odd server names; each server answers with a fatal alert (tls-not-established quotes the SNI).
  tls(20, PLANTED.sniScript);
  tls(21, utf8(PLANTED.sniIdn));
  tls(22, PLANTED.sniUpperDot);
  tls(23, PLANTED.sniLong);
  tls(24, PLANTED.sniUnderscore);
  tls(80, PLANTED.sniWord);
  // Plain HTTP on 443 (plaintext-where-tls-required quotes the request): a path full of names, a one-word Host.
  const get = (uri: string, host: string) => crlf(`GET ${uri} HTTP/1.1`).concat(crlf(`Host: ${host}`), crlf("Cookie: s=nas01.acme-corp.com-x"), crlf(""));
  const ok = crlf("HTTP/1.1 200 OK").concat(crlf("Server: nginx/1.18.0 (vc01.acme-corp.com)"), crlf("Content-Length: 0"), crlf(""));
  b.tcpConversation(PROXY_IP, 41050, LAN(50), 443, [[true, get(PLANTED.uri, PLANTED.hostWord)], [false, ok]]);
  // The vSphere API path (a vCenter by its API, the reason quotes the path) with a non-ASCII Host.
  b.tcpConversation(PROXY_IP, 41051, LAN(51), 443, [[true, get(PLANTED.vsphere, utf8(PLANTED.hostIdn))], [false, ok]]);
  // 902: a plain-text banner (the finding quotes it), and an authd greeting followed by a plain-text login (an anomaly quotes it).
  b.tcpConversation(PROXY_IP, 41030, LAN(30), 902, [[false, crlf(PLANTED.plainBanner)]]);
  b.tcpConversation(PROXY_IP, 41031, LAN(31), 902, [[false, crlf(PLANTED.authdBanner)], [true, crlf(PLANTED.authdClient)]]);
  // SSH with names, a hex IPv4 and a bare MAC in the server's comment.
  b.tcpConversation(PROXY_IP, 41060, LAN(60), 22, [[false, crlf(PLANTED.sshServer)], [true, crlf("SSH-2.0-OpenSSH_8.9p1")]]);
  // RDP with a user name in the cookie.
  b.tcpConversation(PROXY_IP, 41070, LAN(70), 3389, [[true, rdpConnectionRequest(PLANTED.rdpCookie)]]);
  // DNS: English words, an upper-case name, SRV-style labels and a fake one; one answer naming a vCenter.
  let id = 0x5000;
  for (const n of [...PLANTED.dnsWords, ...PLANTED.dnsNames]) {
    b.add(true, PROXY_IP, LAN(53), 17, udp(PROXY_IP, LAN(53), 41053, 53, dns(id, n.split("."))));
    b.add(false, LAN(53), PROXY_IP, 17, udp(LAN(53), PROXY_IP, 53, 41053, dns(id, n.split("."), 3)));
    id++;
  }
  const an = PLANTED.dnsAnswer;
  b.add(true, PROXY_IP, LAN(53), 17, udp(PROXY_IP, LAN(53), 41053, 53, dns(id, an.name.split("."))));
  b.add(false, LAN(53), PROXY_IP, 17, udp(LAN(53), PROXY_IP, 53, 41053, dnsAnswer(id, an.name.split("."), an.address)));
  return pcapFile(b);
}

/** Words of the sentence the policy wrote, without the values it marked. */
function ordinaryWords(marked: string): string[] {
  return replaceMarks(marked, () => " ").toLowerCase().match(/[a-z]+/g) ?? [];
}

function count(words: readonly string[], w: string): number {
  return words.filter((x) => x === w).length;
}

describe("planted odd shapes (issue 13), every format", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "pnc-planted-"));
  const capture = path.join(dir, "acme-corp-esx07.pcap");
  writeFileSync(capture, plantedPcap());

  it("the capture carries every planted value into the plain report (so the checks below check something)", async () => {
    const r = await reportFor([capture]);
    const all = JSON.stringify(r);
    for (const s of ["evil.example<script>", "b\\\\xc3\\\\xbccher.acme-corp.de", "VCENTER01.Corp-Lab.LOCAL", PLANTED.sniLong, PLANTED.sniUnderscore, PLANTED.uri, PLANTED.vsphere]) {
      expect(all, s).toContain(s);
    }
    for (const s of ["ftp.acme-corp.com_x", "nas01_x.acme-corp.com", "JDOE-LAPTOP", "jdoe@acme-corp.com", "_secret-host.acme-corp.local", "vcenter02.corp-lab.local"]) expect(all, s).toContain(s);
    // The sentences quote the wire strings: the SNI, the request, the banner, the vSphere path, the DNS answer.
    const prose = JSON.stringify([r.findings, r.roles, r.summary]);
    for (const s of ["evil.example<script>", PLANTED.uri, "Host from", "ftp.acme-corp.com_x", "/sdk/vimService", "vcenter02.corp-lab.local", "VCENTER01.Corp-Lab.LOCAL", "ClientHello for a "]) {
      expect(prose, s).toContain(s);
    }
    expect(r.roles.find((x) => x.ip === "10.66.0.10")?.role).toBe("proxy");
  });

  it("redacted: no planted original, address or fragment survives; sentences keep their ordinary words", async () => {
    const { r, marked } = await bothReports([capture]);
    checkRedacted(r, marked);
    const red = redactReport(marked);
    const text = JSON.stringify(red).toLowerCase();
    for (const s of SECRETS) expect(text, s).not.toContain(s.toLowerCase());
    // Each field is replaced whole: the one-label words where they stand.
    const conv = (server: number) => red.conversations[r.conversations.findIndex((c) => c.server.ip === `10.66.0.${server}`)];
    expect(conv(80).tls!.sni).toMatch(/^\[name-\d+\]$/);
    expect(conv(50).http!.host).toMatch(/^\[name-\d+\]$/);
    expect(conv(50).http!.uri).toMatch(/^\[uri-\d+\]$/);
    expect(conv(51).http!.uri).toMatch(/^\/sdk\/\[uri-\d+\]$/);
    expect(conv(20).tls!.sni).toMatch(/^\[name-\d+\]$/);
    expect(conv(22).tls!.sni).toMatch(/^\[name-\d+\]\.local$/);
    expect(conv(30).banner).toMatch(/^\[banner-\d+\]$/);
    expect(conv(50).banner).toBe("HTTP/1.1 200 OK");
    expect(conv(50).http!.server).toMatch(/^nginx\/1\.18\.0 \[software-\d+\]$/);
    expect(conv(31).banner).toMatch(/^220 VMware Authentication Daemon Version 1\.10 \[banner-\d+\]$/);
    expect(conv(60).ssh!.serverBanner).toMatch(/^SSH-2\.0-OpenSSH_8\.9p1 \[banner-\d+\]$/);
    expect(conv(60).ssh!.serverSoftware).toBe("OpenSSH_8.9p1");
    expect(conv(70).rdp!.cookie).toMatch(/^\[user-\d+\]$/);
    const queries = conv(53).dns!.queries;
    expect(queries.slice(0, 3).every((q) => /^\[name-\d+\]$/.test(q))).toBe(true);
    expect(queries).toContain("_ldap._tcp.[name-" + /\[name-(\d+)\]/.exec(queries[4])![1] + "].local");
    expect(queries[5]).toMatch(/^\[name-\d+\]\.local$/);
    const quote = conv(31).anomalies.find((a) => a.name === "authd_plaintext_after_banner");
    expect(quote?.message).toMatch(/: "\[quote-\d+\]"/);
    // The sentences: every ordinary word of what the policy wrote is still there, as often.
    const pairs: [string, string][] = [
      ...marked.findings.flatMap((f, i) => [[f.message, red.findings[i].message], [f.fix ?? "", red.findings[i].fix ?? ""]] as [string, string][]),
      ...marked.roles.map((x, i): [string, string] => [x.reason, red.roles[i].reason]),
      ...marked.summary.fixFirst.map((x, i): [string, string] => [x.text, red.summary.fixFirst[i].text]),
      ...marked.summary.coverage.map((x, i): [string, string] => [x.message, red.summary.coverage[i].message]),
    ];
    let checked = 0;
    for (const [m, d] of pairs) {
      const want = ordinaryWords(m);
      const have = d.toLowerCase().match(/[a-z]+/g) ?? [];
      for (const w of new Set(want)) expect(count(have, w), `"${w}" in ${JSON.stringify(d)}`).toBeGreaterThanOrEqual(count(want, w));
      checked += count(want, "the") + count(want, "a") + count(want, "from") + count(want, "no");
    }
    expect(checked).toBeGreaterThan(10);
    // The detectors' anomaly messages likewise, around their quotes.
    r.conversations.forEach((c, i) =>
      c.anomalies.forEach((a, j) => {
        const want = a.message.replace(/: ".*"$/s, "").toLowerCase().match(/[a-z]+/g) ?? [];
        const have = red.conversations[i].anomalies[j].message.toLowerCase().match(/[a-z]+/g) ?? [];
        for (const w of ["a", "the", "from", "no", "not"]) expect(count(have, w), `"${w}" in ${red.conversations[i].anomalies[j].message}`).toBe(count(want, w));
      }),
    );
    // The sentences name the fields' pseudonyms.
    const f20 = red.findings.find((f) => f.conversations.includes(conv(20).id))!;
    expect(f20.message).toContain(`ClientHello for ${conv(20).tls!.sni} `);
    const f50 = red.findings.find((f) => f.conversations.includes(conv(50).id))!;
    expect(f50.message).toContain(`HTTP (GET ${conv(50).http!.uri}, Host ${conv(50).http!.host})`);
  });

  it("analyze --redact --redact-key: JSON, table, Markdown and HTML hold no planted original; the key holds them all, apart", async () => {
    const outputs = ["r.json", "r.txt", "r.md", "r.html"].map((f) => path.join(dir, f));
    for (const [i, out] of outputs.entries()) {
      const key = path.join(dir, `key-${i}.json`);
      const code = await runAnalyze([capture], { output: out, redactKey: key, role: [], failOn: "none", color: "never", reassemblyBytes: 16384, quiet: true });
      expect(code).toBe(0);
      const text = readFileSync(out, "utf8");
      const lower = text.toLowerCase();
      for (const s of SECRETS) expect(lower, `${path.basename(out)}: ${s}`).not.toContain(s.toLowerCase());
      expect(text).toContain("[proxy-1]");
      expect(text).toMatch(out.endsWith(".json") ? /"note": "Addresses, names and strings from the wire are pseudonyms/ : /Wireshark \(uses pseudonyms/);
      const k = JSON.parse(readFileSync(key, "utf8")) as { schema: string; report: string; entries: { pseudonym: string; kind: string; original: string }[] };
      expect(k.schema).toBe("phoenix-netcheck.redaction-key/v1");
      expect(k.report).toBe(path.basename(out));
      expect(statSync(key).mode & 0o077).toBe(0);
      const originals = k.entries.map((e) => e.original).join("\n");
      for (const s of ["10.66.0.10", "evil.example<script>alert(1)</script>", "jdoe", "vcenter02.corp-lab.local", "from", capture]) expect(originals, s).toContain(s);
      // The JSON report holds every pseudonym the key explains.
      if (out.endsWith(".json")) for (const e of k.entries) expect(text).toContain(e.pseudonym);
    }
  });

  it("--redact-key is refused (before reading) when it is an input, the report, or the same file by another name", async () => {
    const base = { role: [], failOn: "none" as const, color: "never" as const, reassemblyBytes: 16384, quiet: true };
    const out = path.join(dir, "refused.json");
    await expect(runAnalyze([capture], { ...base, output: out, redactKey: capture })).rejects.toThrow(/is an input/);
    await expect(runAnalyze([capture], { ...base, output: out, redactKey: out })).rejects.toThrow(/is the report/);
    const link = path.join(dir, "hard-link.pcap");
    linkSync(capture, link);
    await expect(runAnalyze([capture], { ...base, output: out, redactKey: link })).rejects.toThrow(/is an input/);
    await expect(runAnalyze([capture], { ...base, output: out, redactKey: "-" })).rejects.toThrow(/needs a file name/);
    // An existing key of an earlier run is not replaced without --force.
    const old = path.join(dir, "old-key.json");
    writeFileSync(old, "{}");
    await expect(runAnalyze([capture], { ...base, output: out, redactKey: old })).rejects.toThrow(/exists: give --force/);
    expect(readFileSync(old, "utf8")).toBe("{}");
    expect(existsSync(out)).toBe(false);
    expect(readFileSync(capture)).toEqual(Buffer.from(plantedPcap()));
    // capture: the -w file is an input of the report too; refused before any interface is opened.
    const w = path.join(dir, "evidence.pcapng");
    await expect(runCapture({ interface: "pnc-no-such-if0", write: w, redactKey: w, quiet: true })).rejects.toThrow(/is an input/);
    expect(existsSync(w)).toBe(false);
  });
});
