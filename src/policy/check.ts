/**
 * The checks: each conversation is judged against every matrix row it could be, given what is
 * known of its hosts' roles (docs/findings.md, "How a conversation is matched"); what breaks every
 * candidate is a finding, what depends on an unknown role is an `ambiguous-role` info, and what
 * the capture could not show is "not verifiable". Findings are merged, ranked by what they break,
 * and turned into the "what to fix first" list.
 */
import { parseIp } from "../decode/index.js";
import type { ConversationData } from "../flow/index.js";
import type { CheckContext, ConversationVerdict, Finding, PolicyResult } from "./finding.js";
import { PROXY } from "./finding.js";
import { type Group, buildFindings } from "./group.js";
import { type FindingCode, type Judgement, type Severity, SEVERITY_RANK, judgeRow } from "./judge.js";
import { isCloudName, proxyKnown } from "./infer.js";
import type { InfraEntry, Matrix, MatrixRow } from "./matrix.js";
import { rowMatches } from "./matrix.js";
import { type MissingHosts, missingExpected } from "./missing.js";
import { type Namer, PLAIN_NAMER } from "./namer.js";
import type { RoleMap } from "./roles.js";
import { fixFirst, rank } from "./rank.js";
import { viaText, webProxyPath, type WebProxyPath } from "./tunnel.js";
import type { ConnectionView } from "./view.js";

export { FINDING_CODES, SEVERITY_RANK } from "./judge.js";
export type { FindingCode, Limit, Severity } from "./judge.js";
export type { CheckContext, ConversationStatus, ConversationVerdict, Finding, FixFirst, PolicyResult } from "./finding.js";

/**
 * QUIC on no row: Phoenix uploads over TCP 443 only (the matrix has no UDP 443), so QUIC from the
 * proxy is another program; an info, as blocking it costs nothing (RFC 9308 §3.2: clients fall back to TCP).
 */
const QUIC_TEXT = "It is QUIC: Phoenix uploads to the cloud over TCP 443 only, so this is another program on the host (a browser, an updater). Blocking UDP 443 is harmless: QUIC clients fall back to TCP.";

/** "the path to backup.druva.com:443 went through the web proxy 10.0.0.9 port 3128 (HTTP CONNECT)…" */
function viaWebProxyText(c: ConnectionView, p: WebProxyPath, n: Namer): string {
  return `the path to ${n.wire("host", p.target)}:${p.targetPort} went through the web proxy ${n.address(c.server.ip)} port ${c.server.port} (${viaText(p)}); the tunnelled TLS is judged against the matrix row of ${n.wire("host", p.target)}:${p.targetPort}.`;
}

/** The roles the tunnel's target may have: an address's own, the cloud by name, else null (unknown). */
function targetCandidates(p: WebProxyPath, roles: RoleMap): readonly string[] | null {
  const ip = parseIp(p.target.replace(/^\[(.*)\]$/, "$1"));
  if (ip) return roles.candidatesOf(ip.bytes, ip.version);
  return isCloudName(p.target) ? ["cloud"] : null;
}

const NO_ROWS: MatrixRow[] = [];

interface Outcome {
  row: MatrixRow | null;
  /** With no row: the row the finding concerns (wrong-path: the standalone row; wrong-direction: the row the other way). */
  concerns?: string;
  /** The roles this outcome assumes, for ambiguous-role's text. */
  clientRole: string | null;
  serverRole: string | null;
  j: Judgement;
}

// ---------------------------------------------------------------------------------------------

export function checkConversations(views: readonly ConnectionView[], ctx: CheckContext): PolicyResult {
  const { matrix, roles } = ctx;
  const n = ctx.namer ?? PLAIN_NAMER;
  const byId = new Map(matrix.rows.map((r) => [r.id, r]));
  const verdicts = new Map<ConversationData, ConversationVerdict>();
  const candidateRows = new Map<ConnectionView, string[]>();
  const proxyFound = proxyKnown(views, roles);
  const groups = new Map<string, Group>();
  const noRow = makeNoRow(matrix, proxyFound, n);

  const fitsClient = (r: MatrixRow, role: string | null) => r.client === "any" || (role !== null ? r.client === role : !(r.client === PROXY && proxyFound));
  const fitsServer = (r: MatrixRow, role: string | null) =>
    r.servers.includes("any") || (role !== null ? r.servers.includes(role) : !(proxyFound && r.servers.every((s) => s === PROXY)));
  // The rows on each port, found once per transport and port (not per conversation).
  const onPort = new Map<string, MatrixRow[]>();
  const rowsOn = (port: number, transport: string): MatrixRow[] => {
    const k = `${transport}|${port}`;
    let rows = onPort.get(k);
    if (rows === undefined) {
      rows = matrix.rows.filter((r) => rowMatches(r, port, transport));
      // A scan's thousands of ports share one empty list.
      onPort.set(k, (rows = rows.length > 0 ? rows : NO_ROWS));
    }
    return rows;
  };
  const rowsFor = (c: ConnectionView, port: number, cr: string | null, sr: string | null) =>
    rowsOn(port, c.transport).filter((r) => fitsClient(r, cr) && fitsServer(r, sr) && (!r.sameHost || c.client.ip === c.server.ip));

  const addToGroup = (code: FindingCode, severity: Severity, rules: string[], c: ConnectionView, what: string, fix: string | null, byPort = true) => {
    // Through a web proxy, conversations to different targets are different findings.
    const target = webProxyPath(c);
    const key = [code, rules.join(","), c.transport, c.client.ip, c.server.ip, byPort ? c.server.port : "*", target ? `${target.target}:${target.targetPort}` : ""].join("|");
    const g = groups.get(key);
    if (g) g.convs.push(c);
    else groups.set(key, { code, severity, rules, convs: [c], what, fix });
  };

  for (const c of views) {
    const cr = roles.roleOf(c.client.bytes, c.ipVersion);
    const sr = roles.roleOf(c.server.bytes, c.ipVersion);
    const v: ConversationVerdict = { clientRole: cr, serverRole: sr, rule: null, ruleKind: null, alternatives: [], findings: [], status: "conforming", limits: [] };
    verdicts.set(c.conv, v);
    // Through a web proxy, the conversation is the proxy's connection to the tunnel's target (tunnel.ts).
    const path = webProxyPath(c);
    const port = path ? path.targetPort : c.server.port;
    if (path) addToGroup("via-web-proxy", "info", [], c, viaWebProxyText(c, path, n), null);

    // Infrastructure (DNS) and VMware's own traffic: shown, never violations.
    const infra = matrix.infrastructure.find((e: InfraEntry) => (e.transport === "tcp" || e.transport === "udp") && rowMatches(e, port, c.transport));
    if (infra) {
      Object.assign(v, { rule: infra.id, ruleKind: "infrastructure", status: "infrastructure" });
      continue;
    }
    const related = matrix.related.find((r) => rowMatches(r, port, c.transport) && fitsClient(r, cr) && fitsServer(r, sr));
    if (related) {
      Object.assign(v, { rule: related.id, ruleKind: "related", status: "related" });
      continue;
    }

    // Every role each host may have (null: unknown), and the outcome under each.
    const clientCands = roles.candidatesOf(c.client.bytes, c.ipVersion) ?? [null];
    const serverCands = (path ? targetCandidates(path, roles) : roles.candidatesOf(c.server.bytes, c.ipVersion)) ?? [null];
    const outcomes: Outcome[] = [];
    let anyRow = false;
    for (const hc of clientCands) {
      for (const hs of serverCands) {
        const rows = rowsFor(c, port, hc, hs);
        if (rows.length) anyRow = true;
        for (const row of rows) if (!outcomes.some((o) => o.row === row)) outcomes.push({ row, clientRole: hc, serverRole: hs, j: judgeRow(c, row, ctx) });
        if (rows.length === 0) {
          const nr = noRow(c, hc, hs);
          if (!outcomes.some((o) => o.row === null && o.j.kind === "finding" && nr.j.kind === "finding" && o.j.code === nr.j.code)) outcomes.push(nr);
        }
      }
    }
    if (!anyRow) {
      v.status = "unexpected";
      // The web proxy's own port is not unexpected: what went through it is (via-web-proxy says where).
      if (path) continue;
      const nr = noRow(c, cr, sr);
      if (nr.j.kind === "finding" && nr.j.code === "unexpected-port" && c.protocol === "quic") {
        addToGroup("unexpected-port", "info", [], c, QUIC_TEXT, null);
      } else if (nr.j.kind === "finding") {
        if (nr.j.code === "unexpected-port") addToGroup("unexpected-port", cr === PROXY || sr === PROXY ? "warning" : "info", [], c, "", null);
        else addToGroup(nr.j.code, nr.j.severity, nr.concerns ? [nr.concerns] : [], c, nr.j.what, nr.j.fix);
        if (nr.j.code !== "unexpected-port") v.status = "finding";
      }
      continue;
    }

    const rowIds = [...new Set(outcomes.filter((o) => o.row !== null).map((o) => o.row!.id))];
    candidateRows.set(c, rowIds);
    v.ruleKind = "matrix";
    // One candidate row is the rule, even while its host's role (and so the verdict) is open.
    if (rowIds.length === 1) v.rule = rowIds[0];
    else v.alternatives = rowIds;

    const js = outcomes.map((o) => o.j);
    const findingsOnly = js.filter((j): j is Extract<Judgement, { kind: "finding" }> => j.kind === "finding");
    if (js.every((j) => j.kind === "ok")) {
      v.status = rowIds.length > 1 ? "ambiguous" : "conforming";
    } else if (js.every((j) => j.kind !== "finding")) {
      v.status = "not-verifiable";
      v.limits = [...new Set(js.flatMap((j) => (j.kind === "not-verifiable" ? j.limits : [])))];
    } else if (findingsOnly.length === js.length && new Set(findingsOnly.map((j) => j.code)).size === 1) {
      const j = findingsOnly.reduce((a, b) => (SEVERITY_RANK[b.severity] < SEVERITY_RANK[a.severity] ? b : a));
      addToGroup(j.code, j.severity, rowIds, c, j.what, j.fix);
      v.status = j.severity === "info" ? "info" : "finding";
    } else {
      addToGroup("ambiguous-role", "info", rowIds, c, ambiguousText(c, outcomes, cr, sr, n), null);
      v.status = "ambiguous";
    }
  }

  const findings = buildFindings(groups, verdicts, n);
  const missingHosts = new Map<Finding, MissingHosts>();
  for (const f of missingExpected(views, candidateRows, ctx, n, missingHosts)) findings.push(f);
  rank(findings, byId);
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  const matched = [...verdicts.values()].filter((v) => v.ruleKind === "matrix").length;
  return {
    verdicts,
    findings,
    fixFirst: fixFirst(findings, views, verdicts, byId, n, missingHosts),
    roles,
    summary: { verdict: counts.error > 0 ? "fail" : counts.warning > 0 ? "warn" : "pass", findings: counts, conversations: views.length, matched },
  };
}

/** No row fits (cr, sr): a row for the other ESXi registration (wrong-path), a row the other way (wrong-direction), or none (unexpected-port). */
function makeNoRow(matrix: Matrix, proxyKnown: boolean, n: Namer): (c: ConnectionView, cr: string | null, sr: string | null) => Outcome {
  const fits = (want: string, have: string | null) => want === "any" || (have !== null ? want === have : !(want === PROXY && proxyKnown));
  return (c, cr, sr) => {
    const base = { row: null, clientRole: cr, serverRole: sr };
    const pathRow = sr === "esxi" ? matrix.rows.find((r) => rowMatches(r, c.server.port, c.transport) && fits(r.client, cr) && r.servers.includes("esxi-standalone")) : undefined;
    if (pathRow) {
      return {
        ...base,
        concerns: pathRow.id,
        j: {
          kind: "finding", code: "wrong-path", severity: "warning",
          what: `TCP ${c.server.port} is the path to standalone ESXi hosts (row ${pathRow.id}); a host managed through vCenter is reached on 902 (authd/NFC) only.`,
          fix: `Check how ${n.address(c.server.ip)} is registered in Phoenix: a host managed through vCenter is backed up over 902, not ${c.server.port}.`,
        },
      };
    }
    const reverse = matrix.rows.find(
      (r) => rowMatches(r, c.server.port, c.transport) && (cr !== null || sr !== null) && r.client !== "any" && fits(r.client, sr) && r.servers.some((x) => fits(x, cr)),
    );
    if (reverse) {
      return {
        ...base,
        concerns: reverse.id,
        j: {
          kind: "finding", code: "wrong-direction", severity: "warning",
          what: `the matrix expects this port opened the other way (${reverse.client} → ${reverse.server}, row ${reverse.id}).`,
          fix: `Find out why ${n.address(c.client.ip)} opens ${c.transport.toUpperCase()} ${c.server.port} towards ${n.address(c.server.ip)}.`,
        },
      };
    }
    return { ...base, j: { kind: "finding", code: "unexpected-port", severity: cr === PROXY || sr === PROXY ? "warning" : "info", what: "", fix: null } };
  };
}

const ROLE_AS: Record<string, string> = { esxi: "esxi (managed through vCenter)", "esxi-standalone": "esxi-standalone (registered directly)" };

/** "the verdict depends on how 10.0.1.9 is registered: as …, row esxi-443, conforming; as …, wrong-path. --role … decides." */
function ambiguousText(c: ConnectionView, outcomes: Outcome[], cr: string | null, sr: string | null, n: Namer): string {
  const verdict = (o: Outcome) => (o.j.kind === "ok" ? "conforming" : o.j.kind === "not-verifiable" ? "not verifiable" : o.j.code);
  // Which side's role is open: the server's when it has several candidates or none.
  const serverOpen = new Set(outcomes.map((o) => o.serverRole ?? o.row?.server ?? "")).size > 1 || sr === null;
  const parts = outcomes.map((o) => {
    const role = serverOpen ? (o.serverRole ?? o.row?.server ?? null) : (o.clientRole ?? o.row?.client ?? null);
    const as = role !== null ? `as ${ROLE_AS[role] ?? role}` : "";
    const row = o.row ? `row ${o.row.id}` : "no row of the matrix";
    return [as, row, verdict(o)].filter(Boolean).join(", ");
  });
  const host = n.address(serverOpen ? c.server.ip : c.client.ip);
  const flags = [...new Set(outcomes.map((o) => (serverOpen ? (o.serverRole ?? o.row?.server) : (o.clientRole ?? o.row?.client)) ?? null).filter((r): r is string => r !== null && r !== "any"))];
  void cr;
  return `the verdict depends on ${host}'s role, which the capture cannot tell: ${parts.join("; ")}. ${flags.map((r) => `--role ${r}=${host}`).join(" or ")} decides.`;
}
