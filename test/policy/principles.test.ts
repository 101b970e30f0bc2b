/**
 * The verdict principles of docs/findings.md and docs/roles.md, table-driven on connection views
 * built here (no capture needed): each case with the roles given and with none, asserting each
 * conversation's row or candidate rows, status and findings.
 */
import { describe, expect, it } from "vitest";
import { parseIp } from "../../src/decode/addr.js";
import { emptyTlsFacts } from "../../src/detect/tls/index.js";
import { emptyFacts, type ConversationFacts, type TlsFacts } from "../../src/detect/types.js";
import { Conversation } from "../../src/flow/conversation.js";
import { checkConversations, type PolicyResult } from "../../src/policy/check.js";
import { inferRoles } from "../../src/policy/infer.js";
import { builtinMatrix } from "../../src/policy/matrix.js";
import { parseRoleArgs, RoleMap } from "../../src/policy/roles.js";
import type { ConnectionView } from "../../src/policy/view.js";

const PROXY = "10.0.0.5";
const PROXY_MAC = "02:00:00:00:00:05";

interface Spec {
  client?: string;
  server: string;
  port: number;
  transport?: "tcp" | "udp";
  state?: string;
  protocol?: ConversationFacts["protocol"];
  facts?: Partial<ConversationFacts>;
  tls?: Partial<TlsFacts>;
  clientMac?: string | null;
  serverMac?: string | null;
  start?: number;
  captureEnd?: number;
  packetsClient?: number;
  packetsServer?: number;
  unreachable?: boolean;
}

/** Wire values of the versions the cases name (the policy compares these, never the strings). */
const CODES: Record<string, number> = { "SSL 3.0": 0x0300, "TLS 1.0": 0x0301, "TLS 1.1": 0x0302, "TLS 1.2": 0x0303, "TLS 1.3": 0x0304 };

function tls(t: Partial<TlsFacts>): TlsFacts {
  const f = { ...emptyTlsFacts(), clientVersion: "TLS 1.3", version: "TLS 1.3", cipher: "TLS_AES_128_GCM_SHA256", clientHelloSeen: true, serverHelloSeen: true, ...t };
  return { ...f, clientVersionCode: f.clientVersion ? CODES[f.clientVersion] : null, versionCode: f.version ? CODES[f.version] : null };
}

let nextId = 1;
function view(s: Spec): ConnectionView {
  const client = s.client ?? PROXY;
  const ip = (t: string) => {
    const p = parseIp(t)!;
    return { bytes: p.bytes, version: p.version };
  };
  const c = ip(client);
  const sv = ip(s.server);
  const facts: ConversationFacts = { ...emptyFacts(), protocol: s.protocol ?? (s.tls ? "tls" : "none"), ...s.facts, tls: s.tls ? tls(s.tls) : (s.facts?.tls ?? null) };
  const state = s.state ?? "SF";
  const conv = new Conversation();
  const id = nextId++;
  return {
    conv, id, capture: 0, transport: s.transport ?? "tcp", ipVersion: c.version,
    client: { ip: client, bytes: c.bytes, port: 40000 + id, mac: s.clientMac === undefined ? (client === PROXY ? PROXY_MAC : `02:00:00:00:01:${id.toString(16).padStart(2, "0")}`) : s.clientMac },
    server: { ip: s.server, bytes: sv.bytes, port: s.port, mac: s.serverMac === undefined ? `02:00:00:00:02:${id.toString(16).padStart(2, "0")}` : s.serverMac },
    state, history: state === "S0" ? "S" : "ShADadFf",
    packetsClient: s.packetsClient ?? (state === "S0" ? 2 : 6), packetsServer: s.packetsServer ?? (state === "S0" ? 0 : 5),
    start: s.start ?? 10, end: (s.start ?? 10) + 1, captureEnd: s.captureEnd ?? 100,
    protocol: facts.protocol, facts, tls: facts.tls,
    startMissing: false, clientStartMissing: false, serverStartMissing: false, clientGap: false, serverGap: false, clientPayload: 100, serverPayload: 100,
    serverUnseen: false, clientUnseen: false, truncatedPackets: 0,
    unreachable: s.unreachable ?? false, icmpType: s.unreachable ? 3 : -1, icmpCode: s.unreachable ? 3 : -1,
    aggregate: null, frames: [id], firstFrame: id,
  };
}

function judge(views: ConnectionView[], roles: string[] = []): PolicyResult {
  const matrix = builtinMatrix();
  const map = inferRoles(views, matrix, new RoleMap(parseRoleArgs(roles)));
  return checkConversations(views, { matrix, roles: map, captureSeconds: 90, oneDirection: false, rowInFilter: () => true });
}

/** A few ordinary proxy conversations, so that the proxy is found the way it is on real captures. */
function background(): ConnectionView[] {
  return [
    view({ server: "10.0.9.1", port: 443, tls: { sni: "phoenix.druva.com" } }),
    view({ server: "10.0.9.2", port: 123, transport: "udp", protocol: "ntp", facts: { ntp: { version: 4, clientMode: 3, serverMode: 4, stratum: 2 } } }),
  ];
}

function of(r: PolicyResult, v: ConnectionView) {
  const x = r.verdicts.get(v.conv)!;
  return { rule: x.rule, alternatives: x.alternatives, status: x.status, findings: x.findings, limits: x.limits };
}

describe.each([
  ["with roles", true],
  ["without roles", false],
] as const)("verdict principles, %s", (_, given) => {
  const roles = (...r: string[]) => (given ? [`proxy=${PROXY}`, ...r] : []);

  it("an ESXi host opening 902 towards the proxy, answered with an authd-like banner, does not make the proxy an ESXi host", () => {
    const bg = background();
    const v = view({ client: "10.0.1.7", server: PROXY, port: 902, protocol: "vmware-authd", facts: { banner: "220 VMware Authentication Daemon Version 1.10" }, clientMac: "02:00:00:00:01:07", serverMac: PROXY_MAC });
    const r = judge([...bg, v], roles("esxi=10.0.1.7"));
    expect(r.roles.roleOf(parseIp(PROXY)!.bytes, 4)).toBe("proxy");
    expect(of(r, v).findings).toEqual(["wrong-direction"]);
    expect(r.findings.find((f) => f.code === "wrong-direction")!.severity).toBe("warning");
  });

  it("the proxy's IPv6 address shares its MAC: its TLS to the cloud conforms", () => {
    const v6 = view({ client: "fd00::5", server: "fd00::21", port: 443, tls: { sni: "storage.phoenix.druva.com" }, clientMac: PROXY_MAC });
    const r = judge([...background(), v6], roles());
    expect(r.roles.lookup(parseIp("fd00::5")!.bytes, 6)).toMatchObject({ role: "proxy", reason: expect.stringContaining(`shares MAC ${PROXY_MAC}`) });
    expect(of(r, v6)).toMatchObject({ rule: "cloud-443", status: "conforming", findings: [] });
  });

  it("a vCenter known by its name is vcenter-443, not the cloud", () => {
    const v = view({ server: "10.0.0.20", port: 443, tls: { sni: "vcenter01.corp.example" } });
    const r = judge([...background(), v], roles());
    expect(of(r, v)).toMatchObject({ rule: "vcenter-443", status: "conforming" });
  });

  it("vCenter from a vSphere API path and from ESXi heartbeats: its 443 is vcenter-443, not every 443 row", () => {
    // GET /sdk in clear on 443: the server is vCenter, so the plaintext is vcenter-443's alone.
    const sdk = view({ server: "10.0.0.31", port: 443, protocol: "http", facts: { http: { method: "POST", uri: "/sdk/vimService", host: null, status: 200, server: null } } });
    // An ESXi host's UDP 902 heartbeat names its target vCenter, and the host a managed one.
    const beat = view({ client: "10.0.1.21", server: "10.0.0.32", port: 902, transport: "udp", protocol: "unknown", packetsClient: 1, packetsServer: 0 });
    const tls443 = view({ server: "10.0.0.32", port: 443, tls: { version: "TLS 1.2" } });
    const r = judge([...background(), sdk, beat, tls443], roles());
    expect(r.findings.find((f) => f.code === "plaintext-where-tls-required")).toMatchObject({ rule: "vcenter-443", rules: [] });
    expect(of(r, tls443)).toMatchObject({ rule: "vcenter-443", status: "conforming", findings: [] });
    expect(of(r, beat).findings).toEqual([]);
  });

  it("TLS 1.1 to a host of unknown role on 443 breaks every row it could be: weak-tls naming all four", () => {
    const v = view({ server: "10.0.3.3", port: 443, tls: { version: "TLS 1.1", clientVersion: "TLS 1.2", cipher: "TLS_RSA_WITH_AES_128_CBC_SHA" } });
    const r = judge([...background(), v], roles());
    expect(of(r, v)).toMatchObject({ rule: null, status: "finding", findings: ["weak-tls"] });
    const f = r.findings.find((x) => x.code === "weak-tls")!;
    expect(f).toMatchObject({ severity: "error", rule: null, rules: ["cloud-443", "cloudcache-443", "vcenter-443", "esxi-443"] });
  });

  it("SSH on 443 to a host of unknown role: protocol-mismatch", () => {
    const v = view({ server: "10.0.3.4", port: 443, protocol: "ssh" });
    const r = judge([...background(), v], roles());
    expect(of(r, v).findings).toEqual(["protocol-mismatch"]);
  });

  it("NTP answered with ICMP port unreachable by a host of unknown role: refused on ntp-123", () => {
    const v = view({ server: "10.0.3.5", port: 123, transport: "udp", state: "S0", packetsClient: 1, packetsServer: 0, unreachable: true });
    const r = judge([...background(), v], roles());
    expect(of(r, v)).toMatchObject({ rule: "ntp-123", findings: ["refused"] });
  });

  it("a ClientHello answered in plain text on 3542: plaintext-where-tls-required quoting the server", () => {
    const v = view({ server: "10.0.2.15", port: 3542, protocol: "plaintext", facts: { banner: "HTTP/1.0 400 Bad Request", clientProtocol: "tls" } });
    const r = judge([...background(), v], roles("guest=10.0.2.15"));
    const f = r.findings.find((x) => x.code === "plaintext-where-tls-required")!;
    expect(f.rule).toBe("guest-3542");
    expect(f.message).toContain("400 Bad Request");
  });

  it("TLS from the first byte on 902 is not ESXi's authd: protocol-mismatch", () => {
    const v = view({ server: "10.0.1.8", port: 902, tls: {} });
    const r = judge([...background(), v], roles("esxi=10.0.1.8"));
    expect(of(r, v)).toMatchObject({ rule: "esxi-902", findings: ["protocol-mismatch"] });
  });

  it.each([
    // [row, server, port, transport, what the server spoke instead, the role that makes it that row]
    ["ntp-123", "10.0.4.1", 123, "udp", "unknown", "ntp"], // binary that is not an NTP header (RFC 5905 §7.3)
    ["guest-22", "10.0.4.2", 22, "tcp", "http", "guest"], // no "SSH-" identification string (RFC 4253 §4.2)
    ["guest-3389", "10.0.4.3", 3389, "tcp", "tls", "guest"], // TLS at once, no X.224 Connection Request/Confirm
  ] as const)("row %s's protocol identity is checked: anything else on %s port %d is protocol-mismatch", (row, server, port, transport, spoke, role) => {
    const v = view({ server, port, transport, protocol: spoke, ...(spoke === "tls" ? { tls: {} } : {}) });
    const r = judge([...background(), v], roles(`${role}=${server}`));
    expect(of(r, v)).toMatchObject({ rule: row, status: "finding", findings: ["protocol-mismatch"] });
    expect(r.findings.find((f) => f.code === "protocol-mismatch")).toMatchObject({ severity: "error", rule: row });
  });

  it("a standalone ESXi host with 443 and 902: both conform when given; 443 is ambiguous-role (info) when only the banner tells", () => {
    const v902 = view({ server: "10.0.1.9", port: 902, protocol: "vmware-authd", facts: { banner: "220 VMware Authentication Daemon Version 1.10: SSL Required" }, tls: { version: "TLS 1.2" } });
    const v443 = view({ server: "10.0.1.9", port: 443, tls: { version: "TLS 1.2" } });
    const r = judge([...background(), v902, v443], given ? roles("esxi-standalone=10.0.1.9") : []);
    expect(of(r, v902)).toMatchObject({ rule: "esxi-902", status: "conforming" });
    if (given) expect(of(r, v443)).toMatchObject({ rule: "esxi-443", status: "conforming" });
    else {
      expect(of(r, v443)).toMatchObject({ status: "ambiguous", findings: ["ambiguous-role"] });
      const f = r.findings.find((x) => x.code === "ambiguous-role")!;
      expect(f.severity).toBe("info");
      expect(f.message).toMatch(/--role esxi(-standalone)?=10\.0\.1\.9/);
    }
    expect(r.findings.filter((x) => x.severity !== "info" && x.code !== "missing-expected")).toEqual([]);
  });

  it("443 to a host given as managed ESXi is wrong-path", () => {
    const v = view({ server: "10.0.1.10", port: 443, tls: { version: "TLS 1.2" } });
    const r = judge([...background(), v], [`proxy=${PROXY}`, "esxi=10.0.1.10"]);
    expect(of(r, v).findings).toEqual(["wrong-path"]);
    expect(r.findings.find((x) => x.code === "wrong-path")!.rule).toBe("esxi-443");
  });

  it("a single SYN less than 1 s before the end of the capture is cut by the end, never blocked; a retried one is blocked", () => {
    const cut = view({ server: "10.0.1.11", port: 902, state: "S0", packetsClient: 1, packetsServer: 0, start: 99.5, captureEnd: 100 });
    const retried = view({ server: "10.0.1.12", port: 902, state: "S0", packetsClient: 2, packetsServer: 0, start: 98.9, captureEnd: 100 });
    const r = judge([...background(), cut, retried], roles());
    expect(of(r, cut)).toMatchObject({ status: "not-verifiable", limits: ["end-of-capture"], findings: [] });
    expect(of(r, retried).findings).toEqual(["blocked"]);
  });

  it("findings are ranked by what they break: blocked 902 before weak TLS on an optional guest row, with fix-first lines", () => {
    const weak = view({ server: "10.0.2.16", port: 3542, tls: { version: "TLS 1.0" } });
    const blocked = view({ server: "10.0.1.13", port: 902, state: "S0", packetsClient: 3, packetsServer: 0, start: 50 });
    const r = judge([...background(), weak, blocked], roles("guest=10.0.2.16"));
    expect(r.findings.map((f) => f.code).slice(0, 2)).toEqual(["blocked", "weak-tls"]);
    expect(r.fixFirst[0].text).toMatch(/^ESXi 10\.0\.1\.13: allow TCP 902 from the proxy 10\.0\.0\.5 — NBD\/NBDSSL backups of its VMs fail/);
  });

  it("identical findings are one, with a count of conversations", () => {
    const a = view({ server: "10.0.2.17", port: 3542, tls: { version: "TLS 1.0" } });
    const b = view({ server: "10.0.2.17", port: 3542, tls: { version: "TLS 1.0" } });
    const r = judge([...background(), a, b], roles("guest=10.0.2.17"));
    const weak = r.findings.filter((f) => f.code === "weak-tls");
    expect(weak).toHaveLength(1);
    expect(weak[0]).toMatchObject({ attempts: 2, conversations: [a.id, b.id] });
  });
});
