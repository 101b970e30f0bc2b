/**
 * The checks: each conversation is judged against every matrix row it could be, given what is
 * known of its hosts' roles (docs/findings.md, "How a conversation is matched"); what breaks every
 * candidate is a finding, what depends on an unknown role is an `ambiguous-role` info, and what
 * the capture could not show is "not verifiable". Findings are merged, ranked by what they break,
 * and turned into the "what to fix first" list.
 */
import type { Conversation } from "../flow/conversation.js";
import { type FindingCode, type Judgement, type Limit, type Severity, SEVERITY_RANK, icmpText, isRefused, isUnanswered, judgeRow } from "./judge.js";
import { proxyKnown } from "./infer.js";
import type { InfraEntry, Matrix, MatrixRow } from "./matrix.js";
import { formatPorts, rowMatches } from "./matrix.js";
import { type Namer, PLAIN_NAMER } from "./namer.js";
import type { RoleMap } from "./roles.js";
import type { ConnectionView } from "./view.js";
import { groupFilter, joinFilters, rowFilter } from "./wireshark.js";

export { FINDING_CODES, SEVERITY_RANK } from "./judge.js";
export type { FindingCode, Limit, Severity } from "./judge.js";

export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** One or two sentences: what was seen, between which hosts (with roles) on which port. */
  message: string;
  /** What to change, where that can be said. */
  fix: string | null;
  /** The matrix row concerned (matched, or the one that should have been seen), else null. */
  rule: string | null;
  /** The candidate rows, when the conversations could be several (then `rule` is null). */
  rules: string[];
  /** Conversation ids behind the finding. */
  conversations: number[];
  /** Frame numbers behind the finding (the first few of each conversation, anomalies, ICMP). */
  frames: number[];
  /** The same frames by capture file (index into the report's captures): "frame 72" of which file. */
  framesIn: { capture: number; frames: number[] }[];
  /** A Wireshark display filter that shows exactly the traffic behind the finding. */
  wiresharkFilter: string;
  /** How many conversations (attempts) the finding stands for, and over how long. */
  attempts?: number;
  durationSeconds?: number;
}

/** What the checks decided for one conversation (conversations[].status, docs/findings.md). */
export type ConversationStatus = "conforming" | "finding" | "info" | "ambiguous" | "not-verifiable" | "infrastructure" | "related" | "unexpected" | "duplicate";

export interface ConversationVerdict {
  clientRole: string | null;
  serverRole: string | null;
  /** The row (matrix, infrastructure or related entry) when it is one, else null. */
  rule: string | null;
  ruleKind: "matrix" | "infrastructure" | "related" | null;
  /** The candidate rows when there are several (then `rule` is null). */
  alternatives: string[];
  /** Codes of the findings that name this conversation. */
  findings: FindingCode[];
  status: ConversationStatus;
  /** Why it could not be judged (status not-verifiable). */
  limits: Limit[];
}

/** One line of "what to fix first": a host, what to change, and what fails until then. */
export interface FixFirst {
  host: string;
  role: string | null;
  action: string;
  /** The row's `impact`, when the finding has a row. */
  impact: string | null;
  code: FindingCode;
  severity: Severity;
  text: string;
}

export interface CheckContext {
  matrix: Matrix;
  roles: RoleMap;
  /** Seconds between the first and last packet over all captures (for missing-expected). */
  captureSeconds: number;
  /** Most of the capture shows one direction only. */
  oneDirection: boolean;
  /** False for a row the --filter excluded (not missing: not in the filter). */
  rowInFilter: (row: MatrixRow) => boolean;
  /** How sentences name addresses and wire strings (PLAIN_NAMER unless given; docs/redaction.md). */
  namer?: Namer;
}

export interface PolicyResult {
  verdicts: Map<Conversation, ConversationVerdict>;
  findings: Finding[];
  fixFirst: FixFirst[];
  /** The role map the checks used: the given roles and the inferred ones. */
  roles: RoleMap;
  summary: {
    verdict: "pass" | "warn" | "fail" | "inconclusive";
    findings: Record<Severity, number>;
    conversations: number;
    matched: number;
  };
}

const PROXY = "proxy";
const REQUIRED_RANK = { always: 0, "if-present": 1, optional: 2 } as const;

function hostLabel(ip: string, role: string | null, n: Namer): string {
  const t = n.address(ip);
  return role ? `${t} (${role})` : t;
}

interface Outcome {
  row: MatrixRow | null;
  /** With no row: the row the finding concerns (wrong-path: the standalone row; wrong-direction: the row the other way). */
  concerns?: string;
  /** The roles this outcome assumes, for ambiguous-role's text. */
  clientRole: string | null;
  serverRole: string | null;
  j: Judgement;
}

interface Group {
  code: FindingCode;
  severity: Severity;
  rules: string[];
  convs: ConnectionView[];
  what: string;
  fix: string | null;
}

// ---------------------------------------------------------------------------------------------

export function checkConversations(views: readonly ConnectionView[], ctx: CheckContext): PolicyResult {
  const { matrix, roles } = ctx;
  const n = ctx.namer ?? PLAIN_NAMER;
  const byId = new Map(matrix.rows.map((r) => [r.id, r]));
  const verdicts = new Map<Conversation, ConversationVerdict>();
  const candidateRows = new Map<ConnectionView, string[]>();
  const proxyFound = proxyKnown(views, roles);
  const groups = new Map<string, Group>();
  const noRow = makeNoRow(matrix, proxyFound, n);

  const fitsClient = (r: MatrixRow, role: string | null) => r.client === "any" || (role !== null ? r.client === role : !(r.client === PROXY && proxyFound));
  const fitsServer = (r: MatrixRow, role: string | null) =>
    r.servers.includes("any") || (role !== null ? r.servers.includes(role) : !(proxyFound && r.servers.every((s) => s === PROXY)));
  const rowsFor = (c: ConnectionView, cr: string | null, sr: string | null) =>
    matrix.rows.filter((r) => rowMatches(r, c.server.port, c.transport) && fitsClient(r, cr) && fitsServer(r, sr) && (!r.sameHost || c.client.ip === c.server.ip));

  const addToGroup = (code: FindingCode, severity: Severity, rules: string[], c: ConnectionView, what: string, fix: string | null, byPort = true) => {
    const key = [code, rules.join(","), c.transport, c.client.ip, c.server.ip, byPort ? c.server.port : "*"].join("|");
    const g = groups.get(key);
    if (g) g.convs.push(c);
    else groups.set(key, { code, severity, rules, convs: [c], what, fix });
  };

  for (const c of views) {
    const cr = roles.roleOf(c.client.bytes, c.ipVersion);
    const sr = roles.roleOf(c.server.bytes, c.ipVersion);
    const v: ConversationVerdict = { clientRole: cr, serverRole: sr, rule: null, ruleKind: null, alternatives: [], findings: [], status: "conforming", limits: [] };
    verdicts.set(c.conv, v);

    // Infrastructure (DNS) and VMware's own traffic: shown, never violations.
    const infra = matrix.infrastructure.find((e: InfraEntry) => (e.transport === "tcp" || e.transport === "udp") && rowMatches(e, c.server.port, c.transport));
    if (infra) {
      Object.assign(v, { rule: infra.id, ruleKind: "infrastructure", status: "infrastructure" });
      continue;
    }
    const related = matrix.related.find((r) => rowMatches(r, c.server.port, c.transport) && fitsClient(r, cr) && fitsServer(r, sr));
    if (related) {
      Object.assign(v, { rule: related.id, ruleKind: "related", status: "related" });
      continue;
    }

    // Every role each host may have (null: unknown), and the outcome under each.
    const clientCands = roles.candidatesOf(c.client.bytes, c.ipVersion) ?? [null];
    const serverCands = roles.candidatesOf(c.server.bytes, c.ipVersion) ?? [null];
    const outcomes: Outcome[] = [];
    let anyRow = false;
    for (const hc of clientCands) {
      for (const hs of serverCands) {
        const rows = rowsFor(c, hc, hs);
        if (rows.length) anyRow = true;
        for (const row of rows) if (!outcomes.some((o) => o.row === row)) outcomes.push({ row, clientRole: hc, serverRole: hs, j: judgeRow(c, row, ctx) });
        if (rows.length === 0) {
          const nr = noRow(c, hc, hs);
          if (!outcomes.some((o) => o.row === null && o.j.kind === "finding" && nr.j.kind === "finding" && o.j.code === nr.j.code)) outcomes.push(nr);
        }
      }
    }
    if (!anyRow) {
      const nr = noRow(c, cr, sr);
      v.status = "unexpected";
      if (nr.j.kind === "finding") {
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
      v.status = "finding";
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

// ---------------------------------------------------------------------------------------------

function buildFindings(groups: Map<string, Group>, verdicts: Map<Conversation, ConversationVerdict>, n: Namer): Finding[] {
  // More than five unexpected ports between the same two hosts (a scan) fold into one finding.
  const byHosts = new Map<string, number>();
  const hostKey = (c: ConnectionView) => [c.transport, c.client.ip, c.server.ip].join("|");
  for (const g of groups.values()) if (g.code === "unexpected-port") byHosts.set(hostKey(g.convs[0]), (byHosts.get(hostKey(g.convs[0])) ?? 0) + 1);
  const folded = new Map<string, Group>();
  for (const [key, g] of groups) {
    const k = hostKey(g.convs[0]);
    if (g.code === "unexpected-port" && (byHosts.get(k) ?? 0) > 5) {
      const f = folded.get(`scan|${k}`);
      if (f) f.convs.push(...g.convs);
      else folded.set(`scan|${k}`, { ...g, convs: [...g.convs] });
    } else folded.set(key, g);
  }
  const out: Finding[] = [];
  for (const g of folded.values()) {
    const f = groupFinding(g, verdicts, n);
    out.push(f);
    for (const c of g.convs) verdicts.get(c.conv)?.findings.push(g.code);
  }
  return out;
}

function framesIn(convs: readonly ConnectionView[]): { capture: number; frames: number[] }[] {
  const by = new Map<number, ConnectionView[]>();
  for (const c of convs) {
    const list = by.get(c.capture);
    if (list) list.push(c);
    else by.set(c.capture, [c]);
  }
  return [...by].sort((a, b) => a[0] - b[0]).map(([capture, cs]) => ({ capture, frames: framesOf(cs) }));
}

function framesOf(convs: readonly ConnectionView[]): number[] {
  const s = new Set<number>();
  for (const c of convs) for (const f of c.frames) s.add(f);
  return [...s].sort((a, b) => a - b).slice(0, 50);
}

function groupFinding(g: Group, verdicts: Map<Conversation, ConversationVerdict>, namer: Namer): Finding {
  const c = g.convs[0];
  const v = verdicts.get(c.conv)!;
  const client = hostLabel(c.client.ip, v.clientRole, namer);
  const server = hostLabel(c.server.ip, v.serverRole, namer);
  const clientIp = namer.address(c.client.ip);
  const serverIp = namer.address(c.server.ip);
  const ports = [...new Set(g.convs.flatMap((x) => (x.aggregate !== null && x.aggregate.level !== "port" ? [x.aggregate.serverPortLow, x.aggregate.serverPortHigh] : [x.server.port])))].sort((a, b) => a - b);
  let start = Infinity;
  let end = -Infinity;
  for (const x of g.convs) {
    if (x.start < start) start = x.start;
    if (x.end > end) end = x.end;
  }
  const span = Math.max(0, end - start);
  const n = g.convs.reduce((s, x) => s + (x.aggregate !== null ? x.aggregate.conversations : 1), 0);
  const T = c.transport.toUpperCase();
  const over = n > 1 || span > 0 ? ` over ${span.toFixed(1)} s` : "";
  const rowText = g.rules.length === 1 ? ` (row ${g.rules[0]})` : g.rules.length > 1 ? ` (row ${g.rules.slice(0, -1).join(", ")} or ${g.rules[g.rules.length - 1]})` : "";
  const attempts = g.convs.reduce((s, x) => s + x.packetsClient, 0);
  const head = `${T} ${c.server.port} from ${client} to ${server}${rowText}`;
  let message: string;
  let fix = g.fix;
  let filterExtra = "";
  if (g.code === "blocked") {
    if (c.transport === "tcp") {
      message = `${head}: ${attempts} SYN${attempts === 1 ? "" : "s"} in ${n} connection attempt${n === 1 ? "" : "s"}${over} never answered — usually a firewall dropping them.`;
      filterExtra = " && tcp.flags.syn==1";
    } else message = `${head}: ${attempts} datagram${attempts === 1 ? "" : "s"}${over} never answered.`;
    fix = `Allow ${T} ${c.server.port} from ${clientIp} to ${serverIp} in the firewalls between them, and check that the service runs.`;
  } else if (g.code === "refused") {
    const how = c.unreachable ? `answered with ${icmpText(c)}` : "answered with a TCP reset";
    message = `${head}: ${n} attempt${n === 1 ? "" : "s"}${over} ${how} — nothing listens there, or a firewall rejects it.`;
    fix = `Start the service on ${T} ${c.server.port} at ${serverIp}, or open the port in its host firewall.`;
  } else if (g.code === "unexpected-port") {
    const portText = ports.length === 1 ? `${T} ${ports[0]}` : `${ports.length} ${T} ports (${ports.slice(0, 8).join(", ")}${ports.length > 8 ? ", …" : ""})`;
    const outcomes = new Map<string, number>();
    for (const x of g.convs) {
      const o = isRefused(x) ? "refused" : isUnanswered(x) ? "never answered" : "answered";
      outcomes.set(o, (outcomes.get(o) ?? 0) + (x.aggregate !== null ? x.aggregate.conversations : 1));
    }
    const how = [...outcomes].map(([o, k]) => (outcomes.size === 1 ? o : `${k} ${o}`)).join(", ");
    message = `${portText} from ${client} to ${server}: no row of the matrix allows it (${n} conversation${n === 1 ? "" : "s"}, ${how}).`;
    fix = v.clientRole === PROXY || v.serverRole === PROXY ? `Find out what on ${clientIp} opens ${portText}; the proxy needs none of it.` : null;
  } else {
    message = `${head}: ${g.what}${n > 1 ? ` (${n} conversations)` : ""}`;
  }
  const filter = groupFilter(c, ports, filterExtra, namer);
  const single = g.rules.length === 1 ? g.rules[0] : null;
  return {
    code: g.code,
    severity: g.severity,
    message,
    fix,
    rule: single,
    rules: g.rules.length > 1 ? [...g.rules] : [],
    conversations: g.convs.map((x) => x.id),
    frames: framesOf(g.convs),
    framesIn: framesIn(g.convs),
    wiresharkFilter: joinFilters([filter]),
    attempts: n,
    durationSeconds: Number(span.toFixed(6)),
  };
}

// ---------------------------------------------------------------------------------------------

/** Rows that should have been seen for the roles present, and were not (never a row with conversations). */
/** Who a missing-expected finding is about: the server host that saw nothing (if-present rows), and the proxy. */
interface MissingHosts {
  server: string | null;
  proxy: string | null;
}

function missingExpected(
  views: readonly ConnectionView[],
  candidateRows: Map<ConnectionView, string[]>,
  ctx: CheckContext,
  n: Namer,
  hostsOut: Map<Finding, MissingHosts>,
): Finding[] {
  const out: Finding[] = [];
  // Every host once, with its possible roles; and for each row, the servers of the conversations that could be it.
  const hosts = new Map<string, { cands: readonly string[]; role: string | null }>();
  for (const c of views) {
    for (const e of [c.client, c.server]) {
      if (hosts.has(e.ip)) continue;
      const cands = ctx.roles.candidatesOf(e.bytes, c.ipVersion);
      if (cands) hosts.set(e.ip, { cands, role: ctx.roles.roleOf(e.bytes, c.ipVersion) });
    }
  }
  const serversByRow = new Map<string, Set<string>>();
  for (const [c, ids] of candidateRows) {
    for (const id of ids) {
      let set = serversByRow.get(id);
      if (!set) serversByRow.set(id, (set = new Set()));
      set.add(c.server.ip);
    }
  }
  /** Hosts whose every possible role is one of `want`, with their role for the message. */
  const hostsOf = (want: readonly string[]) => {
    const m = new Map<string, string>();
    for (const [ip, h] of hosts) if (h.cands.every((r) => want.includes(r))) m.set(ip, h.role ?? want[0]);
    return m;
  };
  const hasConversations = (rowId: string, serverIp?: string) => {
    const set = serversByRow.get(rowId);
    return set !== undefined && (serverIp === undefined || set.has(serverIp));
  };
  const dur = `${ctx.captureSeconds.toFixed(1)} s`;
  for (const row of ctx.matrix.rows) {
    if (row.required === "optional" || !ctx.rowInFilter(row)) continue;
    const clientIps = row.client === "any" ? [] : [...hostsOf([row.client]).keys()];
    if (row.client !== "any" && clientIps.length === 0) continue;
    const T = row.transport.toUpperCase();
    const ports = formatPorts(row.ports);
    const clientText = clientIps.length ? clientIps.map((ip) => `${n.address(ip)} (${row.client})`).join(", ") : row.client;
    const proxy = row.client === PROXY && clientIps.length ? clientIps[0] : null;
    if (row.required === "always") {
      if (hasConversations(row.id)) continue;
      out.push({
        code: "missing-expected", severity: "warning", rule: row.id, rules: [],
        message: `No ${T} ${ports} from ${clientText} to any ${row.server} host in the ${dur} the capture covers (row ${row.id}: ${row.when}). A capture this short may simply have missed it.`,
        fix: `If backups fail, check that ${clientIps.length ? n.address(clientIps[0]) : "the proxy"} can reach its ${row.server} on ${T} ${ports}.`,
        conversations: [], frames: [], framesIn: [], wiresharkFilter: rowFilter(clientIps, row.transport, row.ports, n),
      });
      hostsOut.set(out[out.length - 1], { server: null, proxy });
    } else {
      for (const [ip, role] of hostsOf(row.servers)) {
        if (hasConversations(row.id, ip)) continue;
        out.push({
          code: "missing-expected", severity: "warning", rule: row.id, rules: [],
          message: `No ${T} ${ports} from ${clientText} to ${n.address(ip)} (${role}) in the ${dur} the capture covers (row ${row.id}: ${row.when}). A capture this short may simply have missed it.`,
          fix: `If backups of this host fail, check that the proxy can reach ${n.address(ip)} on ${T} ${ports}.`,
          conversations: [], frames: [], framesIn: [], wiresharkFilter: rowFilter([ip], row.transport, row.ports, n),
        });
        hostsOut.set(out[out.length - 1], { server: ip, proxy });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function rowOf(f: Finding, byId: Map<string, MatrixRow>): MatrixRow | undefined {
  const ids = f.rule ? [f.rule] : f.rules;
  const rows = ids.map((id) => byId.get(id)).filter((r): r is MatrixRow => r !== undefined);
  return rows.sort((a, b) => REQUIRED_RANK[a.required] - REQUIRED_RANK[b.required])[0];
}

/** docs/findings.md, "Order": severity, then the backup path's blocked/refused, then how required the row is, then first frame. */
function rank(findings: Finding[], byId: Map<string, MatrixRow>): void {
  const key = (f: Finding) => {
    const row = rowOf(f, byId);
    const required = row ? REQUIRED_RANK[row.required] : 3;
    const path = (f.code === "blocked" || f.code === "refused") && required < 2 ? 0 : 1;
    return [-SEVERITY_RANK[f.severity], path, required, f.frames.length ? f.frames[0] : Infinity];
  };
  const keys = new Map(findings.map((f) => [f, key(f)]));
  findings.sort((a, b) => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
    return 0;
  });
}

const ROLE_NAMES: Record<string, string> = { proxy: "Proxy", vcenter: "vCenter", esxi: "ESXi", "esxi-standalone": "ESXi (standalone)", guest: "Guest", ntp: "NTP server", cloud: "Phoenix cloud", cloudcache: "CloudCache" };

function fixFirst(
  findings: Finding[],
  views: readonly ConnectionView[],
  verdicts: Map<Conversation, ConversationVerdict>,
  byId: Map<string, MatrixRow>,
  n: Namer,
  missingHosts: Map<Finding, MissingHosts>,
): FixFirst[] {
  const byConv = new Map(views.map((c) => [c.id, c]));
  const out: FixFirst[] = [];
  const seen = new Set<string>();
  for (const f of findings) {
    if (f.severity === "info") continue;
    const c = byConv.get(f.conversations[0]);
    const v = c ? verdicts.get(c.conv) : undefined;
    const row = rowOf(f, byId);
    const T = c ? c.transport.toUpperCase() : row?.transport.toUpperCase() ?? "";
    const port = c ? c.server.port : row?.ports[0].first ?? 0;
    let host = c ? n.address(c.server.ip) : "";
    let role = v?.serverRole ?? null;
    const fromProxy = c ? (v?.clientRole === PROXY ? `the proxy ${n.address(c.client.ip)}` : n.address(c.client.ip)) : "the proxy";
    let action: string;
    switch (f.code) {
      case "blocked": action = `allow ${T} ${port} from ${fromProxy}`; break;
      case "refused": action = `start the service on ${T} ${port}, or open it in the host's firewall`; break;
      case "weak-tls": action = `enable ${row?.minTls ?? "TLS 1.2"} or newer on ${T} ${port}`; break;
      case "plaintext-where-tls-required": action = `serve TLS on ${T} ${port}`; break;
      case "protocol-mismatch": action = `check what answers on ${T} ${port}: not the service the matrix expects`; break;
      case "tls-not-established": action = `check the TLS service on ${T} ${port}`; break;
      case "wrong-path": action = `check how it is registered in Phoenix (the proxy reached it on ${T} ${port})`; break;
      case "wrong-direction":
        host = c ? n.address(c.client.ip) : host;
        role = v?.clientRole ?? null;
        action = `find out why it opens ${T} ${port} towards ${c ? n.address(c.server.ip) : "the proxy"}`;
        break;
      case "unexpected-port":
        host = c ? n.address(c.client.ip) : host;
        role = v?.clientRole ?? null;
        action = `find out what opens ${T} ${port} to ${c ? n.address(c.server.ip) : "that host"}`;
        break;
      case "missing-expected": {
        // The server host that saw nothing, else the proxy (the client of the row) itself.
        const who = missingHosts.get(f) ?? { server: null, proxy: null };
        host = who.server !== null ? n.address(who.server) : who.proxy !== null ? n.address(who.proxy) : "the proxy";
        role = who.server !== null ? (row?.server ?? null) : who.proxy !== null ? PROXY : null;
        action = `check that the proxy can reach ${who.server !== null ? "it" : `its ${row?.server ?? "peer"}`} on ${row?.transport.toUpperCase()} ${row ? formatPorts(row.ports) : ""} (none in the capture)`;
        break;
      }
      default: action = f.fix ?? f.code;
    }
    const impact = row?.impact ?? null;
    const k = `${host}|${action}`;
    if (seen.has(k)) continue;
    seen.add(k);
    // A host of unknown role is named by what the row expects it to be ("ESXi 10.0.1.7").
    const shown = role ?? (row && c && host === n.address(c.server.ip) ? row.server : null);
    const label = shown ? `${ROLE_NAMES[shown] ?? shown} ${host}` : host;
    out.push({ host, role, action, impact, code: f.code, severity: f.severity, text: `${label}: ${action}${impact && f.code !== "unexpected-port" && f.code !== "wrong-direction" ? ` — ${impact}` : ""}` });
  }
  return out;
}

