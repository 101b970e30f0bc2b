/**
 * The policy step of the pipeline: one read-only view per conversation, the roles inferred into
 * a new map, overlapping captures of the same traffic counted once, every conversation checked,
 * and what the capture could not show stated as coverage (docs/findings.md, "Verdict, coverage
 * and exit code").
 */
import { DecodedPacket, IPPROTO_TCP, IPPROTO_UDP, parseIp } from "../decode/index.js";
import type { ConversationData } from "../flow/index.js";
import { checkConversations, type PolicyResult } from "./check.js";
import { inferRoles, proxyKnown } from "./infer.js";
import type { Matrix, MatrixRow } from "./matrix.js";
import { type Namer, PLAIN_NAMER } from "./namer.js";
import { unresolvedFindings, type UnresolvedName } from "./names.js";
import type { RoleMap } from "./roles.js";
import type { ConnectionView } from "./view.js";

/** What the policy needs to know of each capture file. */
export interface CaptureInfo {
  file: string;
  packets: number;
  /** Packets that reached a TCP or UDP conversation. */
  transportPackets: number;
  /** Packets on link types we cannot decode. */
  unsupportedLinkPackets: number;
  /** The read stopped before the end of the file: the reason, or null when it read to the end. */
  stopped: { message: string; frame: number; offset: number } | null;
  /** Stopped by a signal (Ctrl-C): the report covers what was read before. */
  interrupted: boolean;
  /** The file itself ends inside a record (copied or closed before the capture finished): the message, or null. */
  cut: string | null;
  /** --resync read past damage (corrupt lengths): how many places, and the first; null when none. */
  resynced: { places: number; frame: number; offset: number } | null;
  /** Bytes on the wire and bytes captured: fewer captured means the snap length cut packets. */
  bytes: number;
  capturedBytes: number;
  /** Seconds; null with no packet. */
  lastTimestamp: number | null;
}

export interface PolicyInput {
  /** The conversations, frozen (src/policy/view.ts). */
  conversations: readonly ConnectionView[];
  captures: readonly CaptureInfo[];
  /** Inputs a signal stopped the run before (never opened): the verdict cannot stand without them. */
  notRead?: readonly string[];
  matrix: Matrix;
  roles: RoleMap;
  /** Seconds from the first to the last packet over all captures. */
  captureSeconds: number;
  /** The --filter the packets went through, with its text, or null. */
  filter?: { text: string; accepts: (p: DecodedPacket) => boolean } | null;
  /** How sentences name addresses, files and wire strings: PLAIN_NAMER, or MARKING_NAMER for --redact (docs/redaction.md). */
  namer?: Namer;
  /** probe: host names given for roles that did not resolve (name-not-resolved findings, names.ts). */
  unresolvedNames?: readonly UnresolvedName[];
}

/** A limit of the capture (summary.coverage[]). */
export interface CoverageEntry {
  code: string;
  message: string;
  action: string | null;
  /** True when this limit alone makes the verdict inconclusive. */
  inconclusive: boolean;
  /** `filtered`: the matrix rows the --filter excludes (not judged, never missing). */
  rows?: string[];
}

export interface Evaluation extends PolicyResult {
  coverage: CoverageEntry[];
  /** Conversations counted once: the later capture's copy → the id of the one kept. */
  duplicates: Map<ConversationData, number>;
}

/** Two captures hold the same conversation when its 5-tuple matches and it starts within this skew. */
const DUPLICATE_SKEW_SECONDS = 2;

function findDuplicates(views: readonly ConnectionView[]): Map<ConnectionView, ConnectionView> {
  const dup = new Map<ConnectionView, ConnectionView>();
  if (!views.some((v) => v.capture > 0)) return dup;
  const key = (v: ConnectionView) => `${v.transport}|${v.client.ip}|${v.client.port}|${v.server.ip}|${v.server.port}`;
  const first = new Map<string, ConnectionView[]>();
  for (const v of views) {
    const k = key(v);
    const earlier = (first.get(k) ?? []).find((e) => e.capture !== v.capture && Math.abs(e.start - v.start) <= DUPLICATE_SKEW_SECONDS);
    if (earlier) dup.set(v, earlier);
    else {
      const list = first.get(k);
      if (list) list.push(v);
      else first.set(k, [v]);
    }
  }
  return dup;
}

/** Would the filter let a row's traffic through, between any of these hosts? */
function rowPasses(row: MatrixRow, accepts: (p: DecodedPacket) => boolean, clients: readonly string[], servers: readonly string[]): boolean {
  const p = new DecodedPacket();
  for (const a of clients.length ? clients : ["0.0.0.0"]) {
    for (const b of servers.length ? servers : ["0.0.0.0"]) {
      const ia = parseIp(a);
      const ib = parseIp(b);
      if (!ia || !ib || ia.version !== ib.version) continue;
      for (const dir of [0, 1]) {
        p.reset();
        p.ipVersion = ia.version;
        p.ipProto = row.transport === "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
        (dir === 0 ? p.srcIp : p.dstIp).set(ia.bytes);
        (dir === 0 ? p.dstIp : p.srcIp).set(ib.bytes);
        p.srcPort = dir === 0 ? 40000 : row.ports[0].first;
        p.dstPort = dir === 0 ? row.ports[0].first : 40000;
        if (accepts(p)) return true;
      }
    }
  }
  return false;
}

function pct(n: number, of: number): string {
  return of > 0 ? `${Math.round((100 * n) / of)} %` : "0 %";
}

export function evaluate(input: PolicyInput): Evaluation {
  const all = input.conversations;
  const dupOf = findDuplicates(all);
  const views = all.filter((v) => !dupOf.has(v));
  const namer = input.namer ?? PLAIN_NAMER;
  const notRead = input.notRead ?? [];
  const roles = inferRoles(views, input.matrix, input.roles, namer);

  // One direction: most TCP conversations with a side missing that the other side acknowledged.
  const tcp = views.filter((v) => v.transport === "tcp" && v.aggregate === null);
  const oneSided = tcp.filter((v) => v.serverUnseen || v.clientUnseen);
  const oneDirection = tcp.length > 0 && oneSided.length * 2 > tcp.length;

  const filter = input.filter ?? null;
  const addresses = [...new Set(views.flatMap((v) => [v.client.ip, v.server.ip]))].slice(0, 64);
  const proxies = addresses.filter((ip) => {
    const p = parseIp(ip);
    return p !== null && roles.roleOf(p.bytes, p.version) === "proxy";
  });
  const excluded = filter ? input.matrix.rows.filter((r) => !rowPasses(r, filter.accepts, r.client === "proxy" ? proxies : addresses, addresses)) : [];
  const result = checkConversations(views, {
    matrix: input.matrix,
    roles,
    captureSeconds: input.captureSeconds,
    oneDirection,
    rowInFilter: (r) => !excluded.includes(r),
    partial: notRead.length > 0 || input.captures.some((c) => c.stopped !== null || c.interrupted),
    namer,
  });
  if (input.unresolvedNames?.length) {
    const u = unresolvedFindings(input.unresolvedNames, input.matrix, namer);
    result.findings.unshift(...u.findings);
    result.fixFirst.unshift(...u.fixFirst);
    result.summary.findings.error += u.findings.length;
    if (result.summary.verdict !== "inconclusive") result.summary.verdict = "fail";
  }
  for (const [v, kept] of dupOf) {
    result.verdicts.set(v.conv, { ...(result.verdicts.get(kept.conv) ?? { clientRole: null, serverRole: null, rule: null, ruleKind: null, alternatives: [], findings: [], status: "duplicate", limits: [] }), status: "duplicate", findings: [] });
  }

  // ---- coverage ----
  const coverage: CoverageEntry[] = [];
  const add = (code: string, inconclusive: boolean, message: string, action: string | null, rows?: string[]) =>
    coverage.push({ code, message, action, inconclusive, ...(rows ? { rows } : {}) });
  // Judged: on a matrix row and not "not verifiable". None at all leaves nothing to base a verdict on.
  const onRows = [...result.verdicts.values()].filter((v) => v.ruleKind === "matrix");
  const judged = onRows.filter((v) => v.status !== "not-verifiable" && v.status !== "duplicate").length;
  const packets = input.captures.reduce((s, c) => s + c.packets, 0);
  const transport = input.captures.reduce((s, c) => s + c.transportPackets, 0);
  for (const cap of input.captures) {
    const c = { ...cap, file: namer.file(cap.file) };
    if (c.stopped) {
      add("read-stopped", true, `${c.file}: the read stopped at frame ${c.stopped.frame} (byte ${c.stopped.offset}): ${c.stopped.message}. Only what came before is in this report.`,
        c.interrupted ? "Run the analysis again and let it finish." : `Run again with --resync to read past the damage (the frames after it are then found by searching), or ask for a new copy of ${c.file}.`);
    } else if (c.cut) {
      add("file-cut", false, `${c.file} ends inside a packet record (${c.cut}): it was copied or closed before the capture finished, and its last packet is lost.`,
        "If the capture was still running, stop tcpdump first and copy the file again.");
    } else if (c.interrupted) {
      add("read-stopped", true, `${c.file}: the analysis was interrupted after ${c.packets} packets; only what was read is in this report.`, "Run the analysis again and let it finish.");
    }
    // Read past with --resync: the verdict stands on the rest, but the damaged bytes' packets are lost.
    if (c.resynced) {
      const where = c.resynced.places === 1 ? "at frame" : `at ${c.resynced.places} places, the first at frame`;
      add("read-resynced", false, `${c.file} is damaged ${where} ${c.resynced.frame} (byte ${c.resynced.offset}): --resync read on after it, but the packets in the damaged bytes are not in this report.`,
        `Ask for a new copy of ${c.file} to see what the damaged part held.`);
    }
  }
  if (notRead.length > 0) {
    const names = notRead.map((f) => (f === "-" ? "stdin" : namer.file(f)));
    add("read-stopped", true, `The analysis was stopped before ${names.join(", ")} ${names.length === 1 ? "was" : "were"} read; ${names.length === 1 ? "it is" : "they are"} not in this report.`, "Run the analysis again and let it finish.");
  }
  const unsupported = input.captures.reduce((s, c) => s + c.unsupportedLinkPackets, 0);
  // Decodable packets that a --filter left no TCP or UDP of: the filter's doing, not the capture's.
  const filteredAll = filter !== null && packets > 0 && transport === 0 && unsupported === 0;
  // No packet because a signal stopped the run: read-stopped says so; the capture is not empty.
  const signalled = notRead.length > 0 || input.captures.some((c) => c.interrupted);
  if (packets === 0) {
    if (!signalled) add("undecodable", true, "The capture holds no packet.", "Capture again on the proxy's interface: tcpdump -s 0 -i <interface> -w proxy.pcapng");
  } else if (transport === 0 && !filteredAll) {
    add("undecodable", true, unsupported > 0
      ? `None of the ${packets} packets could be decoded: their link type is not one this tool reads (Ethernet, Linux cooked, raw IP, loopback).`
      : `None of the ${packets} packets carried TCP or UDP.`, "Capture on the proxy's Ethernet interface (or -i any): tcpdump -s 0 -i <interface> -w proxy.pcapng");
  }
  if (filter) {
    const rows = excluded.map((r) => r.id);
    const notIn = rows.length ? `; rows ${rows.join(", ")} are not in the filter, so they are not judged and not missing` : "";
    if (filteredAll) {
      add("filtered", true, `The filter "${namer.typed(filter.text)}" left no TCP or UDP packet of the ${packets} in the capture: nothing is left to judge, and no row is missing.`,
        "Check the filter (docs/filter.md), or analyze without it to check every row.", rows);
    } else {
      add("filtered", transport > 0 && judged === 0, `The packets went through the filter "${namer.typed(filter.text)}"${notIn}.`,
        rows.length ? "Capture or analyze without the filter to check every row." : null, rows);
    }
  }
  if (transport > 0 && !proxyKnown(views, roles)) {
    add("no-proxy", true, "No host could be identified as the backup proxy, so no conversation can be judged as the proxy's.", "Give the proxy's address: --role proxy=ADDRESS (its other addresses are found by its MAC).");
  }
  if (transport > 0 && judged === 0 && !filter) {
    add("no-matrix-traffic", true, onRows.length
      ? `None of the ${onRows.length} conversations on the matrix's ports could be verified from this capture: nothing of the proxy's traffic to judge.`
      : "No conversation in the capture is on a port of the matrix: nothing of the proxy's traffic to judge.", "Capture on the proxy while a backup runs: tcpdump -s 0 -i <interface> -w proxy.pcapng");
  }
  const cut = input.captures.filter((c) => c.capturedBytes < c.bytes);
  if (cut.length) {
    const n = [...result.verdicts.values()].filter((v) => v.limits.includes("snaplen")).length;
    add("snaplen", false, `The snap length cut packets in ${cut.map((c) => namer.file(c.file)).join(", ")} (${pct(cut.reduce((s, c) => s + c.bytes - c.capturedBytes, 0), cut.reduce((s, c) => s + c.bytes, 0))} of the bytes were not captured)${n ? `; ${n} conversation${n === 1 ? "" : "s"} could not be verified` : ""}.`,
      "Capture again with the whole packets: tcpdump -s 0 -i <interface> -w proxy.pcapng");
  }
  if (oneSided.length > 0) {
    add("one-direction", false, `${oneSided.length} of ${tcp.length} TCP conversations show one direction only: the other side's packets were acknowledged but not captured (asymmetric routing, or a one-way SPAN port). What needs the missing side is not judged.`,
      "Capture on the proxy itself, both directions: tcpdump -s 0 -i <interface> -w proxy.pcapng");
  }
  if (dupOf.size > 0) {
    const caps = [...new Set([...dupOf.keys()].map((v) => v.capture))].map((i) => (input.captures[i] ? namer.file(input.captures[i].file) : `capture ${i}`));
    add("duplicate-capture", false, `${dupOf.size} conversation${dupOf.size === 1 ? "" : "s"} in ${caps.join(", ")} ${dupOf.size === 1 ? "is" : "are"} the same traffic as in an earlier capture of this report; each is counted once.`, null);
  }
  const nv = [...result.verdicts.values()].filter((v) => v.status === "not-verifiable");
  if (nv.length) {
    const why = [...new Set(nv.flatMap((v) => v.limits))];
    add("not-verifiable", false, `${nv.length} conversation${nv.length === 1 ? "" : "s"} on matrix rows could not be verified from the capture (${why.join(", ")}); none of them counts as passed.`, null);
  }
  // TLS 1.3 and QUIC encrypt the certificate: a row that checks it was not checked (certificate.ts).
  const hidden = [...result.verdicts.values()].filter((v) => v.findings.includes("certificate-not-verifiable")).length;
  if (hidden) {
    add("certificate-not-verifiable", false, `${hidden} conversation${hidden === 1 ? "" : "s"} on rows that check the server's certificate negotiated TLS 1.3, which encrypts it: ${hidden === 1 ? "its certificate was" : "their certificates were"} not verified from the capture, and none counts as checked.`,
      "Run phoenix-netcheck probe on the proxy: it checks the certificates from the client side.");
  }
  if (coverage.some((c) => c.inconclusive)) result.summary.verdict = "inconclusive";
  return { ...result, coverage, duplicates: new Map([...dupOf].map(([v, k]) => [v.conv, k.id])) };
}
