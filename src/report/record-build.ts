/**
 * Builds the report (record.ts, docs/report-schema.md) from the analysis and the policy's
 * evaluation: the frozen connection view (src/policy/view.ts) becomes the plain, JSON-ready
 * record here and nowhere else, so the table, JSON, Markdown and HTML reports cannot disagree.
 */
import type { CaptureError } from "../capture/index.js";
import type { CaptureInfo, ConnectionView, ConversationVerdict, EndpointView, Evaluation, Matrix, RoleMap } from "../policy/index.js";
import { REPORT_SCHEMA, type Analysis, type CaptureRecord, type CaptureResult, type ConversationRecord, type Report, type RoleRecord } from "./record.js";
import { isoTime } from "./time.js";

export function captureRecord(c: CaptureResult): CaptureRecord {
  const s = c.summary;
  return {
    file: s.file,
    format: s.format,
    compressed: s.compressed,
    linkTypes: [...s.linkTypes],
    packets: s.packets,
    frames: s.frames,
    bytes: s.bytes,
    firstTimestamp: s.firstTimestamp ? isoTime(s.firstTimestamp.sec, s.firstTimestamp.nsec) : null,
    lastTimestamp: s.lastTimestamp ? isoTime(s.lastTimestamp.sec, s.lastTimestamp.nsec) : null,
    errors: c.errors.map((e: CaptureError) => ({ frame: e.frame, offset: e.offset, message: e.message, fatal: e.fatal })),
    decode: c.decode,
    flow: c.flow ? { ...c.flow } : null,
    ...(s.live ? { live: s.live } : {}),
    ...(s.interrupted ? { interrupted: true as const } : {}),
  };
}

export function conversationRecord(view: ConnectionView, v: ConversationVerdict | undefined, duplicateOf: number | null = null): ConversationRecord {
  const c = view.conv;
  const f = view.facts;
  const t = c.tcp;
  const agg = view.aggregate;
  return {
    id: c.id,
    capture: c.capture,
    stream: c.stream,
    transport: c.transport,
    // The view made these strings once; the record shares them.
    client: { ip: view.client.ip, port: c.clientPort, role: v?.clientRole ?? null, mac: view.client.mac },
    server: { ip: view.server.ip, port: c.serverPort, role: v?.serverRole ?? null, mac: view.server.mac },
    clientBy: c.clientBy,
    packets: { client: c.packetsClient, server: c.packetsServer },
    bytes: { client: c.bytesClient, server: c.bytesServer },
    firstFrame: c.firstFrame,
    lastFrame: c.lastFrame,
    start: isoTime(c.startSec, c.startNsec),
    end: isoTime(c.endSec, c.endNsec),
    state: view.state,
    history: view.history,
    protocol: f?.protocol ?? "none",
    clientProtocol: f?.clientProtocol ?? null,
    tls: f?.tls ?? null,
    banner: f?.banner ?? null,
    ssh: f?.ssh ?? null,
    rdp: f?.rdp ?? null,
    http: f?.http ?? null,
    ntp: f?.ntp ?? null,
    dns: f?.dns ?? null,
    quic: f?.quic ?? null,
    tunnel: f?.tunnel ?? null,
    icmp: c.icmpCount > 0 ? { type: c.icmpType, code: c.icmpCode, count: c.icmpCount, frames: [...c.icmpFrames] } : null,
    tcp:
      t !== null
        ? {
            ...t.counters,
            clientStartMissing: t.clientStartMissing,
            serverStartMissing: t.serverStartMissing,
            clientUnseen: t.clientUnseen,
            serverUnseen: t.serverUnseen,
          }
        : null,
    anomalies: f?.anomalies ?? [],
    rule: v?.rule ?? null,
    ruleKind: v?.ruleKind ?? null,
    ruleAlternatives: v?.alternatives ?? [],
    findings: v?.findings ?? [],
    status: v?.status ?? null,
    limits: v?.limits ?? [],
    vlan: c.vlan >= 0 ? c.vlan : null,
    truncatedPackets: c.truncatedPackets,
    duplicateOf,
    aggregate:
      agg !== null
        ? {
            conversations: agg.conversations,
            level: agg.level,
            serverPorts: { low: agg.serverPortLow, high: agg.serverPortHigh },
          }
        : null,
  };
}

/** The places --resync read past (the readers say "looking for the next plausible …" at each): how many, and the first. */
function resyncedAt(errors: readonly { frame: number; offset: number; message: string; fatal: boolean }[]): CaptureInfo["resynced"] {
  const at = errors.filter((e) => !e.fatal && /; looking for the next plausible (record|block)$/.test(e.message));
  return at.length ? { places: at.length, frame: at[0].frame, offset: at[0].offset } : null;
}

/** What the policy needs of each capture (policy/evaluate.ts CaptureInfo). */
export function captureInfos(a: Analysis): CaptureInfo[] {
  return a.captures.map((c) => {
    const s = c.summary;
    const fatal = c.errors.find((e) => e.fatal);
    const d = c.decode;
    return {
      file: s.file,
      packets: s.packets,
      transportPackets: d.tcp + d.udp,
      unsupportedLinkPackets: Object.values(d.unsupportedLinkTypes).reduce((x, y) => x + y, 0),
      stopped: fatal ? { message: fatal.message, frame: fatal.frame, offset: fatal.offset } : null,
      interrupted: s.interrupted === true,
      // The readers say "file ends inside …" when the last record is cut (not fatal: nothing after it).
      cut: c.errors.find((e) => !e.fatal && /file ends inside/.test(e.message))?.message.replace(/^frame \d+ at offset \d+: /, "") ?? null,
      resynced: resyncedAt(c.errors),
      bytes: s.bytes,
      capturedBytes: s.capturedBytes,
      lastTimestamp: s.lastTimestamp ? s.lastTimestamp.sec + s.lastTimestamp.nsec / 1e9 : null,
    };
  });
}

/**
 * Seconds the captures cover: the union of each capture's span from its first to its last packet
 * (0 with no packet). A capture whose clock went backwards (last before first) covers 0 s rather
 * than a negative time; and the first packet of one file is never paired with the last of
 * another, so a file with a stepped clock cannot make two files "cover" 82 years, nor the gap
 * between day1.pcap and day2.pcap count as captured.
 */
export function captureSeconds(a: Analysis): number {
  const spans: [number, number][] = [];
  for (const c of a.captures) {
    const f = c.summary.firstTimestamp;
    const l = c.summary.lastTimestamp;
    if (!f || !l) continue;
    const s0 = f.sec + f.nsec / 1e9;
    const s1 = l.sec + l.nsec / 1e9;
    if (s1 > s0) spans.push([s0, s1]);
  }
  spans.sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s0, s1] of spans) {
    if (s1 <= end) continue;
    total += s1 - Math.max(s0, end);
    end = s1;
  }
  return total;
}

function roleRecords(a: Analysis, roles: RoleMap): RoleRecord[] {
  const out = new Map<string, RoleRecord>();
  // The views' address texts (made once per address, src/policy/view.ts), not formatted again.
  const add = (e: EndpointView, v: 4 | 6): void => {
    if (out.has(e.ip)) return;
    const m = roles.lookup(e.bytes, v);
    if (m) out.set(e.ip, { ip: e.ip, role: m.role, source: m.explicit ? "explicit" : "inferred", reason: m.reason });
  };
  for (const c of a.conversations) {
    add(c.client, c.ipVersion);
    add(c.server, c.ipVersion);
  }
  return [...out.values()];
}

export function buildReport(a: Analysis, policy: Evaluation, matrix: Matrix, version: string, filter: string | null = null): Report {
  const roles = policy.roles;
  return {
    schema: REPORT_SCHEMA,
    generator: { name: "phoenix-netcheck", version },
    matrix: { product: matrix.product, version: matrix.version, rows: matrix.rows.length },
    captures: a.captures.map(captureRecord),
    roles: roleRecords(a, roles),
    conversations: a.conversations.map((v) => conversationRecord(v, policy.verdicts.get(v.conv), policy.duplicates.get(v.conv) ?? null)),
    findings: policy.findings,
    summary: { ...policy.summary, coverage: policy.coverage, fixFirst: policy.fixFirst, filter, captureSeconds: Number(captureSeconds(a).toFixed(6)) },
  };
}
