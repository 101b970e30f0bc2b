/**
 * The wording shared by the reports people read (terminal table, Markdown, HTML): what each
 * section says, as plain unescaped strings. Nothing here is safe to print as is — strings that
 * came off the wire (SNI, banners, HTTP hosts, certificate and DNS names, anomaly messages, file
 * names) are mixed into them — so every renderer escapes every string it takes from here at the
 * point of output (sanitize.ts). Keeping the wording in one place keeps the formats saying the same.
 */
import type { Finding, Severity } from "../policy/check.js";
import type { MatrixRow } from "../policy/matrix.js";
import { formatPorts, rowServerText } from "../policy/matrix.js";
import type { CaptureRecord, ConversationRecord, Report, ReportFinding, RoleRecord } from "./record.js";

/** Other conversations listed at most; the rest are counted (the JSON report lists them all). */
export const MAX_OTHER_CONVERSATIONS = 200;
/** Capture errors listed at most per capture. */
export const MAX_CAPTURE_ERRORS = 20;
/** Numbers (frames, conversation ids) listed at most in one compact list. */
export const MAX_LISTED = 30;
/** Wire strings (banners, URIs, anomaly messages) are cut to this many characters. */
export const MAX_WIRE_TEXT = 160;

/** Conversations a record stands for: 1, or how many an aggregate entry folds together. */
function weight(c: ConversationRecord): number {
  return c.aggregate?.conversations ?? 1;
}

// ---------------------------------------------------------------------------------------------
// Small formatters.

/** 1234567 → "1,234,567" (no locale: the output must not depend on the machine). */
export function num(n: number): string {
  const s = String(Math.trunc(Math.abs(n)));
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (n < 0 ? "-" : "") + grouped;
}

/** "1 conversation", "2 conversations"; the plural is the word + "s" unless given. */
export function plural(n: number, word: string, many = word + "s"): string {
  return `${num(n)} ${n === 1 ? word : many}`;
}

/** Seconds for people: "0.009 s", "12.4 s", "3 min 12 s", "2 h 05 min", "217 days". */
export function duration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return "0 s";
  if (sec < 10) return `${sec.toFixed(3)} s`;
  if (sec < 60) return `${sec.toFixed(1)} s`;
  const total = Math.round(sec);
  if (total < 3600) return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, "0")} s`;
  if (total >= 2 * 86400) return `${num(Math.round(total / 86400))} days`;
  const min = Math.round(total / 60);
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, "0")} min`;
}

/**
 * Numbers as runs: [12, 15, 18, 19, 20] → "12, 15, 18–20" (three or more consecutive numbers are a
 * range). At most `max` items are written, then "… (N in all)".
 */
export function compactNumbers(values: readonly number[], max = MAX_LISTED): string {
  const v = [...new Set(values)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < v.length) {
    let j = i;
    while (j + 1 < v.length && v[j + 1] === v[j] + 1) j++;
    if (j - i >= 2) parts.push(`${v[i]}–${v[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(v[k]));
    i = j + 1;
  }
  if (parts.length <= max) return parts.join(", ");
  return `${parts.slice(0, max).join(", ")}, … (${num(v.length)} in all)`;
}

/** "frames 12, 15, 18–20", "frame 7", or null for none. */
export function framesText(frames: readonly number[]): string | null {
  if (frames.length === 0) return null;
  return `${frames.length === 1 ? "frame" : "frames"} ${compactNumbers(frames)}`;
}

/** A wire string cut to `max` characters (code points), saying how much was left out. */
export function clip(s: string, max = MAX_WIRE_TEXT): string {
  const cps = [...s];
  if (cps.length <= max) return s;
  return `${cps.slice(0, max).join("")}… (${num(cps.length - max)} more characters)`;
}

/** "10.0.0.5:443", "[fd77::20]:443". */
export function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** "10.0.0.5:51234 (proxy)" or without the role when none is known. */
export function endpointText(e: { ip: string; port: number; role: string | null }): string {
  return e.role ? `${hostPort(e.ip, e.port)} (${e.role})` : hostPort(e.ip, e.port);
}

/** "TCP 902". */
export function portText(transport: string, port: number | string): string {
  return `${transport.toUpperCase()} ${port}`;
}

// ---------------------------------------------------------------------------------------------
// 1. The verdict line.

export type VerdictWord = "PASS" | "WARN" | "FAIL" | "INCONCLUSIVE";

export interface VerdictView {
  word: VerdictWord;
  verdict: Report["summary"]["verdict"];
  /** What follows the word: "1 error, 2 warnings, 0 info · 3 conversations · 1 capture, 0.009 s". */
  detail: string;
}

export function verdictView(r: Report): VerdictView {
  const s = r.summary;
  const word: VerdictWord = s.verdict === "fail" ? "FAIL" : s.verdict === "warn" ? "WARN" : s.verdict === "inconclusive" ? "INCONCLUSIVE" : "PASS";
  const counts = `${plural(s.findings.error, "error")}, ${plural(s.findings.warning, "warning")}, ${num(s.findings.info)} info`;
  const convs = plural(s.conversations, "conversation");
  const caps = `${plural(r.captures.length, "capture")}, ${duration(s.captureSeconds)}`;
  // The first line says why a verdict could not be given, or which limits it has.
  const coverage = s.coverage ?? [];
  const blocking = coverage.filter((c) => c.inconclusive);
  const why = blocking.length ? `${blocking.map((c) => c.message).join(" ")} · ` : "";
  const limited = !blocking.length && coverage.length ? ` · limited: ${coverage.map((c) => c.code).join(", ")} (below)` : "";
  return { word, verdict: s.verdict, detail: `${why}${counts} · ${convs} · ${caps}${limited}` };
}

/** "What to fix first": one line per host and action, most damaging first. */
export function fixFirstLines(r: Report): string[] {
  return (r.summary.fixFirst ?? []).map((x) => x.text);
}

/** "What the capture could not show": each limit with what to do. */
export function coverageLines(r: Report): { message: string; action: string | null }[] {
  return (r.summary.coverage ?? []).map((c) => ({ message: c.message, action: c.action }));
}

// ---------------------------------------------------------------------------------------------
// 2. Findings, grouped by severity.

export interface FindingView {
  code: string;
  severity: Severity;
  /** "rule esxi-902", or null. */
  rule: string | null;
  message: string;
  /** "Fix: …", or null. */
  fix: string | null;
  /** "frames 1–8 · conversations 1, 2 · 3 attempts over 12.0 s", or null when there is nothing. */
  where: string | null;
  /** The Wireshark display filter, as is (a renderer shows it verbatim). */
  filter: string;
}

export interface FindingGroup {
  severity: Severity;
  /** "Errors (2)". */
  title: string;
  items: FindingView[];
}

const GROUPS: { severity: Severity; name: string }[] = [
  { severity: "error", name: "Errors" },
  { severity: "warning", name: "Warnings" },
  { severity: "info", name: "Info" },
];

export function findingView(f: ReportFinding, files: readonly string[] = []): FindingView {
  const where: string[] = [];
  // With several captures, frame numbers are only meaningful with the file they are in.
  const byCapture = f.framesIn ?? [];
  const frames =
    files.length > 1 && byCapture.length > 0
      ? byCapture.map((x) => `${framesText(x.frames)} of ${files[x.capture] ?? `capture ${x.capture}`}`).join("; ")
      : framesText(f.frames);
  if (frames) where.push(frames);
  const ev = evidenceFramesText(f);
  if (ev) where.push(ev);
  if (f.conversations.length > 0) {
    where.push(`${f.conversations.length === 1 ? "conversation" : "conversations"} ${compactNumbers(f.conversations)}`);
  }
  if (f.attempts !== undefined && f.attempts > 1) {
    where.push(`${plural(f.attempts, "attempt")} over ${duration(f.durationSeconds ?? 0)}`);
  }
  return {
    code: f.code,
    severity: f.severity,
    rule: f.rule ? `rule ${f.rule}` : null,
    message: f.message,
    fix: f.fix ? `Fix: ${f.fix}` : null,
    where: where.length > 0 ? where.join(" · ") : null,
    filter: f.wiresharkFilter,
  };
}

/** What a Wireshark filter is introduced with: a redacted report's filters say they use pseudonyms (docs/redaction.md). */
export function wiresharkLabel(r: Report): string {
  return r.redaction ? "Wireshark (uses pseudonyms: put the addresses back before running it)" : "Wireshark";
}

/** Non-empty groups only, errors first; findings keep their report order inside a group. */
export function findingGroups(r: Report): FindingGroup[] {
  return GROUPS.map(({ severity, name }) => {
    const files = r.captures.map((c) => c.file.split(/[\\/]/).pop() || c.file);
    const items = r.findings.filter((f) => f.severity === severity).map((f) => findingView(f, files));
    return { severity, title: `${name} (${num(items.length)})`, items };
  }).filter((g) => g.items.length > 0);
}

export const NO_FINDINGS = "No findings: no conversation breaks the matrix, and nothing it requires is missing.";

// ---------------------------------------------------------------------------------------------
// 3. Roles.

export interface RoleView {
  host: string;
  role: string;
  /** "explicit" or "inferred". */
  source: string;
  reason: string;
}

export function roleViews(r: Report): RoleView[] {
  return r.roles.map((x: RoleRecord) => ({ host: x.ip, role: x.role, source: x.source, reason: x.reason }));
}

export const NO_ROLES = "No host has a role: none was given (--role, --roles) and none could be inferred from the traffic.";

// ---------------------------------------------------------------------------------------------
// 4. Matrix rows and what was seen of each.

export interface MatrixRowView {
  id: string;
  /** "proxy → esxi", "guest → guest (same host)". */
  path: string;
  /** "TCP 902", "TCP 1000-2000". */
  port: string;
  /** "vmware-authd, TLS 1.2+" (the lowest TLS version allowed, when the row sets one). */
  expects: string;
  /** "always", "if-present", "optional" ("" when the row's definition was not given). */
  required: string;
  /** What was seen, one item per line, or null when nothing was ("not seen"). */
  seen: string[] | null;
}

export interface MatrixView {
  /** "Druva Phoenix backup proxy for VMware, matrix version 1: 3 of 12 rows seen". */
  heading: string;
  rows: MatrixRowView[];
  /** Said under the rows when the matrix itself was not given to the renderer. */
  note: string | null;
}

/** "SF ×2, S0" — distinct values with counts, in order of first appearance. */
function counted(values: readonly string[]): string {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].map(([v, n]) => (n > 1 ? `${v} ×${n}` : v)).join(", ");
}

function distinct(values: readonly (string | null | undefined)[], max = 3): string[] {
  const u = [...new Set(values.filter((v): v is string => typeof v === "string" && v.length > 0))];
  return u.length <= max ? u : [...u.slice(0, max), `… (${u.length} in all)`];
}

/** The TLS versions of one conversation: "TLS 1.2", "TLS 1.3 offered, no ServerHello", or null. */
function tlsVersionText(c: ConversationRecord): string | null {
  const t = c.tls;
  if (!t) return null;
  if (t.version) return t.version;
  if (t.clientVersion) return `${t.clientVersion} offered, no ServerHello`;
  return null;
}

/** Detail lines listed at most for one matrix row (distinct lines over its conversations). */
const MAX_ROW_DETAILS = 8;

function seenLines(convs: ConversationRecord[]): string[] {
  const lines: string[] = [];
  const ids = compactNumbers(convs.map((c) => c.id));
  const total = convs.reduce((n, c) => n + weight(c), 0);
  lines.push(`${plural(total, "conversation")} (${total === convs.length ? "" : "entries "}${ids})`);
  const servers = distinct(convs.map((c) => c.server.ip));
  lines.push(`to ${servers.join(", ")}`);
  lines.push(`state ${counted(convs.map((c) => c.state))}`);
  lines.push(`protocol ${counted(convs.map((c) => c.protocol))}`);
  // What the conversations carried (TLS version, SNI, banners, anomalies…), each line once.
  const details = [...new Set(convs.flatMap(detailLines))];
  lines.push(...details.slice(0, MAX_ROW_DETAILS));
  if (details.length > MAX_ROW_DETAILS) lines.push(`… ${plural(details.length - MAX_ROW_DETAILS, "more detail")} (--format json has them all)`);
  const codes = [...new Set(convs.flatMap((c) => c.findings))];
  if (codes.length > 0) lines.push(`findings: ${codes.join(", ")}`);
  return lines;
}

function expectsText(row: MatrixRow): string {
  return row.minTls ? `${row.expect}, ${row.minTls}+` : row.expect;
}

/**
 * Every row of the matrix (when `matrixRows` is given, else only the rows conversations matched),
 * each with what was seen on it. A conversation counts for a row when its `rule` is the row's id
 * and its `ruleKind` is "matrix".
 */
/** The row's lines, saying which of its conversations only could be it (a role unknown). */
function withCandidates(convs: ConversationRecord[], id: string): string[] {
  const maybe = convs.filter((c) => c.rule === null);
  if (maybe.length === 0) return seenLines(convs);
  const others = distinct(maybe.flatMap((c) => c.ruleAlternatives.filter((x) => x !== id)));
  return [...seenLines(convs), `${plural(maybe.length, "conversation")} (${maybe.map((c) => c.id).join(", ")}) could also be ${others.join(", ")}: a role is unknown`];
}

export function matrixView(r: Report, matrixRows?: readonly MatrixRow[]): MatrixView {
  const byRule = new Map<string, ConversationRecord[]>();
  for (const c of r.conversations) {
    if (c.ruleKind !== "matrix") continue;
    // A conversation whose host's role is unknown is listed under every row it could be.
    for (const id of c.rule !== null ? [c.rule] : c.ruleAlternatives) {
      const list = byRule.get(id);
      if (list) list.push(c);
      else byRule.set(id, [c]);
    }
  }
  const rows: MatrixRowView[] = [];
  const listed = new Set<string>();
  for (const row of matrixRows ?? []) {
    listed.add(row.id);
    const convs = byRule.get(row.id);
    rows.push({
      id: row.id,
      path: `${row.client} → ${rowServerText(row)}${row.sameHost ? " (same host)" : ""}`,
      port: portText(row.transport, formatPorts(row.ports)),
      expects: expectsText(row),
      required: row.required,
      seen: convs ? withCandidates(convs, row.id) : null,
    });
  }
  // Rows conversations matched that the given rows do not define (or every row, with none given).
  for (const [id, convs] of byRule) {
    if (listed.has(id)) continue;
    const first = convs[0];
    rows.push({
      id,
      path: `${first.client.role ?? "?"} → ${first.server.role ?? "?"}`,
      port: portText(first.transport, distinct(convs.map((c) => String(c.server.port))).join(", ")),
      expects: "",
      required: "",
      seen: seenLines(convs),
    });
  }
  const seenCount = rows.filter((x) => x.seen !== null).length;
  const heading = `${r.matrix.product}, matrix version ${r.matrix.version}: ${num(seenCount)} of ${plural(r.matrix.rows, "row")} seen`;
  const note = matrixRows ? null : "Rows with nothing seen are listed when the renderer is given the matrix.";
  return { heading, rows, note };
}

export const NOT_SEEN = "not seen";

// ---------------------------------------------------------------------------------------------
// 5. Other conversations: infrastructure, related, and those no row matched.

export interface ConversationView {
  id: number;
  /** 1-based capture number, or null when the report has one capture. */
  capture: number | null;
  /** "10.0.0.5:51234 (proxy)"; the address and the role apart below. */
  client: string;
  server: string;
  clientAddress: string;
  serverAddress: string;
  clientRole: string | null;
  serverRole: string | null;
  /** "TCP 443". */
  port: string;
  /** "infrastructure dns-53-udp", "related esxi-902-udp", "no matrix row". */
  kind: string;
  state: string;
  history: string;
  protocol: string;
  /** Protocol facts, one per line (wire strings inside). */
  details: string[];
  /** "8 packets, 1,212 bytes" sent by the client / by the server. */
  fromClient: string;
  fromServer: string;
  /** "frames 1–17". */
  frames: string;
  /** "tcp.stream==0" (Wireshark shows the conversation with it). */
  stream: string;
  /** Finding codes that name the conversation. */
  findings: string[];
}

function kindText(c: ConversationRecord): string {
  const agg = c.aggregate;
  if (agg) {
    const ports = agg.serverPorts.low === agg.serverPorts.high ? `port ${agg.serverPorts.low}` : `ports ${agg.serverPorts.low}–${agg.serverPorts.high}`;
    return `${plural(agg.conversations, "conversation")} past the limit, folded (same ${agg.level}; ${ports})`;
  }
  if (c.ruleKind === "infrastructure" || c.ruleKind === "related") return `${c.ruleKind} ${c.rule ?? ""}`.trim();
  if (c.rule) return `${c.ruleKind ?? "rule"} ${c.rule}`;
  return "no matrix row";
}

/** What the protocol detectors found, for people: TLS facts, banners, HTTP, SSH, RDP, DNS, NTP, anomalies. */
export function detailLines(c: ConversationRecord): string[] {
  const out: string[] = [];
  const t = c.tls;
  if (t) {
    const parts = [tlsVersionText(c), t.cipher].filter((x): x is string => !!x);
    if (parts.length > 0) out.push(parts.join(", "));
    if (t.sni) out.push(`SNI ${clip(t.sni)}`);
    if (t.alpn.length > 0) out.push(`ALPN ${clip(t.alpn.join(", "))}${t.alpnSelected ? ` (chose ${clip(t.alpnSelected)})` : ""}`);
    if (t.certificate) out.push(`certificate ${clip(t.certificate.subject)}`);
    // Alerts in clear by name; encrypted ones (level "encrypted": their content is ciphertext) only by who sent them.
    for (const a of t.alerts.filter((x) => x.level !== "encrypted").slice(0, 2)) out.push(`${a.from} alert ${a.level} ${a.description}`);
    const enc = [...new Set(t.alerts.filter((x) => x.level === "encrypted").map((x) => x.from))];
    if (enc.length > 0) out.push(`encrypted alert from ${enc.join(" and ")}`);
  }
  if (c.ssh) {
    if (c.ssh.clientSoftware) out.push(`client software ${clip(c.ssh.clientSoftware)}`);
    if (c.ssh.serverSoftware) out.push(`server software ${clip(c.ssh.serverSoftware)}`);
  }
  if (c.http) {
    const h = c.http;
    const req = [h.method, h.uri].filter((x): x is string => !!x).join(" ");
    if (req) out.push(clip(req));
    if (h.host) out.push(`Host ${clip(h.host)}`);
    if (h.status !== null) out.push(`status ${h.status}${h.server ? `, Server ${clip(h.server)}` : ""}`);
  }
  if (c.rdp) {
    const r = c.rdp;
    if (r.cookie) out.push(`cookie ${clip(r.cookie)}`);
    if (r.requestedProtocols.length > 0) out.push(`requested ${r.requestedProtocols.join(", ")}${r.selectedProtocol ? `, selected ${r.selectedProtocol}` : ""}`);
    if (r.failure) out.push(`refused: ${r.failure}`);
  }
  if (c.dns) {
    const q = distinct(c.dns.queries, 3);
    if (q.length > 0) out.push(`query ${q.map((x) => clip(x)).join(", ")}`);
    const rc = distinct(c.dns.rcodes, 3);
    if (rc.length > 0) out.push(`rcode ${rc.join(", ")}`);
  }
  if (c.ntp) {
    const n = c.ntp;
    const modes = [n.clientMode, n.serverMode].filter((m): m is number => m !== null).join("/");
    out.push(`NTPv${n.version}${modes ? ` mode ${modes}` : ""}${n.stratum !== null ? `, stratum ${n.stratum}` : ""}`);
  }
  // The banner, unless it is the SSH identification or HTTP line already shown above.
  if (c.banner && !c.ssh && !c.http) out.push(`banner ${clip(c.banner)}`);
  if (c.icmp) out.push(`ICMP type ${c.icmp.type} code ${c.icmp.code} ×${c.icmp.count}`);
  for (const a of c.anomalies.slice(0, 3)) out.push(`${a.name}: ${clip(a.message)}`);
  if (c.anomalies.length > 3) out.push(`… ${plural(c.anomalies.length - 3, "more anomaly", "more anomalies")}`);
  return out;
}

function trafficText(packets: number, bytes: number): string {
  return `${plural(packets, "packet")}, ${plural(bytes, "byte")}`;
}

export function conversationView(c: ConversationRecord, multiCapture: boolean): ConversationView {
  return {
    id: c.id,
    capture: multiCapture ? c.capture + 1 : null,
    client: endpointText(c.client),
    server: endpointText(c.server),
    clientAddress: hostPort(c.client.ip, c.client.port),
    serverAddress: hostPort(c.server.ip, c.server.port),
    clientRole: c.client.role,
    serverRole: c.server.role,
    port: c.aggregate ? portText(c.transport, "*") : portText(c.transport, c.server.port),
    kind: kindText(c),
    state: c.state,
    history: c.history,
    protocol: c.protocol,
    details: detailLines(c),
    fromClient: trafficText(c.packets.client, c.bytes.client),
    fromServer: trafficText(c.packets.server, c.bytes.server),
    frames: c.firstFrame === c.lastFrame ? `frame ${c.firstFrame}` : `frames ${c.firstFrame}–${c.lastFrame}`,
    stream: `${c.transport}.stream==${c.stream}`,
    findings: [...new Set(c.findings)],
  };
}

export interface OtherConversationsView {
  rows: ConversationView[];
  /** "… 1,790 more conversations not shown (the JSON report lists all)", or null. */
  more: string | null;
}

/** Conversations that did not match a matrix row, in id order, at most MAX_OTHER_CONVERSATIONS. */
export function otherConversations(r: Report, max = MAX_OTHER_CONVERSATIONS): OtherConversationsView {
  const all = r.conversations.filter((c) => c.ruleKind !== "matrix");
  const multi = r.captures.length > 1;
  const rows = all.slice(0, max).map((c) => conversationView(c, multi));
  const more = all.length > max ? `… ${plural(all.length - max, "more conversation")} not shown (--format json lists every conversation).` : null;
  return { rows, more };
}

export const NO_OTHER_CONVERSATIONS = "None: every conversation matched a row of the matrix.";

// ---------------------------------------------------------------------------------------------
// 6. Captures.

export interface CaptureView {
  file: string;
  /** "pcapng", "pcap (gzip)". */
  format: string;
  /** "link types 1, 113". */
  linkTypes: string;
  packets: string;
  bytes: string;
  /** "2026-11-25 10:46:18.873690 UTC", or "no packet". */
  first: string;
  last: string;
  /** First and last packet for people: both times, or one when they are the same ("no packet"). */
  span: string[];
  /** One line per error: "frame 12 at offset 1234: message (reading stopped here)". */
  errors: string[];
}

/** "2026-11-25 10:47:04.785189 UTC": nanoseconds only when the capture has them. */
function timeText(iso: string | null): string {
  if (!iso) return "no packet";
  return `${iso.replace("T", " ").replace(/(\.\d{6})000Z$/, "$1").replace(/Z$/, "")} UTC`;
}

export function captureView(c: CaptureRecord): CaptureView {
  const errors = c.errors.slice(0, MAX_CAPTURE_ERRORS).map(
    // Reader messages usually start with "frame N at offset M:" already; say it once.
    (e) =>
      `${e.message.startsWith(`frame ${e.frame}`) ? "" : `frame ${e.frame}, offset ${num(e.offset)}: `}${clip(e.message)}` +
      (e.fatal ? " (reading stopped here)" : ""),
  );
  if (c.errors.length > MAX_CAPTURE_ERRORS) errors.push(`… ${plural(c.errors.length - MAX_CAPTURE_ERRORS, "more error")} (--format json lists them)`);
  const unlisted = c.decode?.errorsNotListed ?? 0;
  if (unlisted > 0) errors.push(`${plural(unlisted, "more decode error")} counted, not listed`);
  const flow = c.flow;
  if (flow?.limitHit) {
    errors.push(
      `conversation limit ${num(flow.maxConversations)} reached: ${num(flow.conversations)} seen, ${num(flow.listed)} listed, ` +
        `${num(flow.aggregated)} folded into ${plural(flow.aggregates, "aggregate entry", "aggregate entries")}`,
    );
  }
  return {
    file: c.file,
    format: c.compressed ? `${c.format} (gzip)` : c.format,
    linkTypes: `${c.linkTypes.length === 1 ? "link type" : "link types"} ${c.linkTypes.join(", ") || "none"}`,
    packets: plural(c.packets, "packet"),
    bytes: plural(c.bytes, "byte"),
    first: timeText(c.firstTimestamp),
    last: timeText(c.lastTimestamp),
    span: c.firstTimestamp === c.lastTimestamp ? [timeText(c.firstTimestamp)] : [timeText(c.firstTimestamp), timeText(c.lastTimestamp)],
    errors,
  };
}

export function captureViews(r: Report): CaptureView[] {
  return r.captures.map(captureView);
}

/** "evidence frames 1–8" (frames in the --evidence file), or null without one. */
export function evidenceFramesText(f: ReportFinding): string | null {
  if (f.evidenceFrames === undefined) return null;
  return f.evidenceFrames.length === 0 ? "no evidence frames" : `evidence ${framesText(f.evidenceFrames)}`;
}

/**
 * The evidence file (--evidence) under the captures, or null without one, in parts a renderer
 * joins with " · " or puts one a line (so the sha256 can be copied whole):
 * "Evidence: ev.pcapng", "114 packets, 37,636 bytes", "sha256 8a55…", "conforming examples: …".
 */
export function evidenceParts(r: Report): string[] | null {
  const e = r.evidence;
  if (!e) return null;
  const parts = [`Evidence: ${e.file}`, `${plural(e.packets, "packet")}, ${plural(e.bytes, "byte")}`, `sha256 ${e.sha256}`];
  if (e.examples.length > 0) parts.push(`conforming examples: ${e.examples.map((x) => `${x.rule} (conversation ${x.conversation})`).join(", ")}`);
  if (e.conversationsLeftOut > 0) {
    parts.push(`${plural(e.conversationsLeftOut, "conversation")} of findings left out (at most ${e.limits.conversationsPerFinding} per finding)`);
  }
  return parts;
}

/** evidenceParts as one line. */
export function evidenceLine(r: Report): string | null {
  return evidenceParts(r)?.join(" · ") ?? null;
}

/** The last line: which tool and matrix wrote the report. */
export function generatorLine(r: Report): string {
  return `${r.generator.name} ${r.generator.version} · ${r.matrix.product}, matrix version ${r.matrix.version}`;
}

/** Section titles, the same in every format. */
/** Sections of the table and Markdown reports, by the names --sections takes. */
export const REPORT_SECTIONS = ["fix-first", "coverage", "findings", "roles", "matrix", "conversations", "captures"] as const;
export type ReportSection = (typeof REPORT_SECTIONS)[number];
/** What the terminal shows without --verbose: the verdict, what to fix first, the limits, the findings. */
export const FIRST_SCREEN_SECTIONS: readonly ReportSection[] = ["fix-first", "coverage", "findings"];

export const SECTION = {
  fixFirst: "What to fix first",
  coverage: "What the capture could not show",
  findings: "Findings",
  roles: "Roles",
  matrix: "Matrix rows",
  others: "Other conversations",
  captures: "Captures",
} as const;
