/**
 * `--evidence FILE.pcapng`: a small pcapng of the frames behind every finding, plus one conforming
 * example conversation per matrix row seen, each packet commented with why it is there
 * (docs/reports.md, "Evidence file").
 *
 * It works from the finished report only — `Finding.code`, `rule`, `conversations`, `frames` and
 * the conversation records (capture index, 5-tuple, first and last frame, ICMP frames) — and
 * re-reads the source captures to pick the packets: those of the chosen conversations' 5-tuple
 * (both directions) between their first and last frame, the ICMP errors that quote them, and the
 * frames the finding names. Bounded on purpose, so the file stays small enough for a ticket:
 * at most EVIDENCE_CONVERSATIONS_PER_FINDING conversations per finding and
 * EVIDENCE_FRAMES_PER_CONVERSATION frames per conversation (the first packets, which hold the
 * handshake, and the last EVIDENCE_TAIL_FRAMES, which hold the end).
 *
 * Packets keep their source link type, timestamp (written in nanoseconds, the same instant) and
 * bytes (captured and original length); each source interface gets an IDB of its own. Memory is
 * bounded by the selection: at most 60 packet copies per chosen conversation while reading.
 *
 * The file is written under a temporary name beside the destination and renamed when complete,
 * so an interrupted run never leaves a half file under the real name.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, unlinkSync } from "node:fs";
import path from "node:path";
import { PcapngWriter, readCapture, type CaptureSummary, type RawPacket } from "../capture/index.js";
import { DecodeContext, DecodedPacket, decodePacket, hasTransport, IPPROTO_TCP, IPPROTO_UDP, parseIp } from "../decode/index.js";
import type { ConversationRecord, EvidenceRecord, Report } from "./record.js";
import { placeFile } from "./evidence-destination.js";

/** At most this many of a finding's conversations go into the evidence file (the first ones listed). */
export const EVIDENCE_CONVERSATIONS_PER_FINDING = 10;
/** At most this many frames per conversation. */
export const EVIDENCE_FRAMES_PER_CONVERSATION = 50;
/** Of those, the conversation's last this many packets (the rest are its first ones). */
export const EVIDENCE_TAIL_FRAMES = 10;
/** At most this many pinned frames per conversation: ICMP errors quoting it, then frames the finding names. */
export const EVIDENCE_PINNED_FRAMES = 10;
/** The word a conforming example's comments carry in place of a finding code. */
export const EVIDENCE_CONFORMING = "conforming";

export interface EvidenceOptions {
  /** The files to re-read, by capture index (the analyzed paths, or the -w file of a live capture). */
  sources: string[];
  /** The names the comments and the SHB use for each capture (default: the source's base name). */
  names?: string[];
  /** The report file the evidence goes with (-o), or null when the report goes to standard output. */
  reportFile: string | null;
  /** The --filter the analysis used, so the same packets are seen again. */
  filter?: ((p: DecodedPacket) => boolean) | null;
  /** --resync as the analysis read (past a corrupt length), so the same frames are read again. */
  resync?: boolean;
  /** shb_userappl, e.g. "phoenix-netcheck 0.1.0". */
  application: string;
  /** --force: replace a file of that name (else one that appeared since the check is left alone, placeFile). */
  replace?: boolean;
}

/** What writeEvidence wrote: the report's `evidence` record and each finding's evidence frames. */
export interface EvidenceResult {
  record: EvidenceRecord;
  /** By finding index: frame numbers (1-based) in the evidence file. */
  findingFrames: number[][];
}

/** Why a conversation is in the file: a finding (by index) or a conforming example of a row. */
interface Label {
  code: string;
  rule: string | null;
  finding: number | null;
}

/** A packet copied out of the source capture (`data` is a copy, not the reader's borrowed view). */
type Kept = Omit<RawPacket, "offset" | "buf" | "start">;

/** One chosen conversation while the source is re-read. */
class Selection {
  readonly labels: Label[] = [];
  readonly proto: number;
  readonly version: 4 | 6;
  readonly a: Uint8Array;
  readonly b: Uint8Array;
  /** ICMP error frames quoting it (matched by frame number: the record says they quote it). */
  readonly icmp = new Set<number>();
  /** Frames the findings name inside its range (matched by 5-tuple too). */
  readonly named = new Set<number>();
  readonly head: Kept[] = [];
  /** The last EVIDENCE_TAIL_FRAMES packets after the head, as a ring. */
  readonly ring: Kept[] = [];
  ringNext = 0;
  readonly pinned: Kept[] = [];
  /** The packets chosen, in frame order (after finish()). */
  chosen: Kept[] = [];

  constructor(readonly conv: ConversationRecord) {
    this.proto = conv.transport === "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
    const a = parseIp(conv.client.ip);
    const b = parseIp(conv.server.ip);
    this.version = a?.version ?? 4;
    this.a = a?.bytes ?? new Uint8Array(16);
    this.b = b?.bytes ?? new Uint8Array(16);
  }

  /** Head budget: the frames left after the tail and the pinned frames. */
  get headLimit(): number {
    return EVIDENCE_FRAMES_PER_CONVERSATION - EVIDENCE_TAIL_FRAMES - Math.min(EVIDENCE_PINNED_FRAMES, this.icmp.size + this.named.size);
  }

  /** Is this decoded TCP/UDP packet one of the conversation's (either direction, in its frame range)? */
  matches(p: DecodedPacket, frame: number): boolean {
    const c = this.conv;
    if (frame < c.firstFrame || frame > c.lastFrame || p.ipProto !== this.proto || p.ipVersion !== this.version) return false;
    const n = this.version === 4 ? 4 : 16;
    if (p.srcPort === c.client.port && p.dstPort === c.server.port) return sameIp(p.srcIp, this.a, n) && sameIp(p.dstIp, this.b, n);
    if (p.srcPort === c.server.port && p.dstPort === c.client.port) return sameIp(p.srcIp, this.b, n) && sameIp(p.dstIp, this.a, n);
    return false;
  }

  /** A packet of the conversation, in frame order. */
  add(k: Kept): void {
    if (this.named.has(k.frame) && this.pinned.length < EVIDENCE_PINNED_FRAMES) {
      this.pinned.push(k);
      return;
    }
    if (this.head.length < this.headLimit) {
      this.head.push(k);
      return;
    }
    if (this.ring.length < EVIDENCE_TAIL_FRAMES) this.ring.push(k);
    else this.ring[this.ringNext] = k;
    this.ringNext = (this.ringNext + 1) % EVIDENCE_TAIL_FRAMES;
  }

  /** An ICMP error quoting the conversation. */
  addIcmp(k: Kept): void {
    if (this.pinned.length < EVIDENCE_PINNED_FRAMES) this.pinned.push(k);
  }

  finish(): void {
    const all = [...this.head, ...this.ring, ...this.pinned].sort((x, y) => x.frame - y.frame);
    this.chosen = all.filter((k, i) => i === 0 || all[i - 1].frame !== k.frame);
    // headLimit kept the sum within the bound; this is the guarantee, whatever the input.
    if (this.chosen.length > EVIDENCE_FRAMES_PER_CONVERSATION) this.chosen.length = EVIDENCE_FRAMES_PER_CONVERSATION;
  }
}

function sameIp(x: Uint8Array, y: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** The comment one packet carries for one reason (the format the issue gives). */
export function evidenceComment(label: { code: string; rule: string | null }, conversation: number, frame: number, capture: string, icmp = false): string {
  const what = label.rule ? `${label.code} ${label.rule}` : label.code;
  return `phoenix-netcheck: ${what} — conversation ${conversation}, frame ${frame} of ${capture}${icmp ? " (ICMP error quoting it)" : ""}`;
}

/** The conversations to take, with why: each finding's first ten, then one conforming example per row. */
function choose(report: Report): { selections: Selection[]; leftOut: number } {
  const byId = new Map<number, ConversationRecord>();
  for (const c of report.conversations) byId.set(c.id, c);
  const sel = new Map<number, Selection>();
  const get = (c: ConversationRecord): Selection => {
    let s = sel.get(c.id);
    if (s === undefined) {
      s = new Selection(c);
      const icmp = c.icmp?.frames ?? [];
      for (const f of icmp.slice(0, EVIDENCE_PINNED_FRAMES)) s.icmp.add(f);
      sel.set(c.id, s);
    }
    return s;
  };
  let leftOut = 0;
  report.findings.forEach((f, fi) => {
    // Aggregate entries stand for many conversations folded together: no 5-tuple to pick by.
    const convs = f.conversations.map((id) => byId.get(id)).filter((c): c is ConversationRecord => c !== undefined && c.aggregate === null);
    leftOut += Math.max(0, convs.length - EVIDENCE_CONVERSATIONS_PER_FINDING);
    for (const c of convs.slice(0, EVIDENCE_CONVERSATIONS_PER_FINDING)) {
      const s = get(c);
      s.labels.push({ code: f.code, rule: f.rule, finding: fi });
      // Frames the finding names in this conversation's range (anomalies, resets…) are kept even
      // when they fall between the first and the last packets.
      for (const fr of f.frames) {
        if (fr >= c.firstFrame && fr <= c.lastFrame && s.icmp.size + s.named.size < EVIDENCE_PINNED_FRAMES) s.named.add(fr);
      }
    }
  });
  const rows = new Set<string>();
  for (const c of report.conversations) {
    if (c.ruleKind !== "matrix" || c.rule === null || c.findings.length > 0 || c.aggregate !== null || rows.has(c.rule)) continue;
    rows.add(c.rule);
    get(c).labels.push({ code: EVIDENCE_CONFORMING, rule: c.rule, finding: null });
  }
  return { selections: [...sel.values()], leftOut };
}

/** Re-read one capture and fill the selections of its conversations. */
async function collect(source: string, selections: Selection[], filter: ((p: DecodedPacket) => boolean) | null, resync: boolean): Promise<void> {
  // Candidates by port pair (low, high) and transport: a cheap first test for every packet.
  const byPorts = new Map<number, Selection[]>();
  const icmpFrames = new Map<number, Selection[]>();
  const portKey = (proto: number, x: number, y: number) => (proto === IPPROTO_TCP ? 0 : 1) * 2 ** 32 + Math.min(x, y) * 65536 + Math.max(x, y);
  for (const s of selections) {
    const k = portKey(s.proto, s.conv.client.port, s.conv.server.port);
    byPorts.set(k, [...(byPorts.get(k) ?? []), s]);
    for (const f of s.icmp) icmpFrames.set(f, [...(icmpFrames.get(f) ?? []), s]);
  }
  const decoded = new DecodedPacket();
  const decoding = new DecodeContext();
  await readCapture(source, (pkt: RawPacket) => {
    let copy: Kept | null = null;
    const keep = (): Kept =>
      (copy ??= {
        frame: pkt.frame, tsSec: pkt.tsSec, tsNsec: pkt.tsNsec, caplen: pkt.caplen, origLen: pkt.origLen,
        // A copy whatever the view is (a Buffer's slice would be a view into the reader's chunk).
        linkType: pkt.linkType, interfaceId: pkt.interfaceId, data: new Uint8Array(pkt.data.subarray(0, pkt.caplen)),
      });
    const quoting = icmpFrames.get(pkt.frame);
    if (quoting !== undefined) for (const s of quoting) s.addIcmp(keep());
    // Decoded as the analysis decoded it (same reassembly of IP fragments, same filter), so the
    // packets found are the ones the conversation counted.
    decodePacket(pkt, decoded, decoding);
    if (filter !== null && !filter(decoded)) return;
    if (!hasTransport(decoded)) return;
    const cands = byPorts.get(portKey(decoded.ipProto, decoded.srcPort, decoded.dstPort));
    if (cands === undefined) return;
    for (const s of cands) if (s.matches(decoded, pkt.frame)) s.add(keep());
  }, { resync });
  for (const s of selections) s.finish();
}

/**
 * Writes the evidence file for `report` to `dest` and returns what the report should say about
 * it. Throws on I/O errors (the caller reports them; the temporary file is removed).
 */
export async function writeEvidence(report: Report, dest: string, o: EvidenceOptions): Promise<EvidenceResult> {
  const { selections, leftOut } = choose(report);
  const names = report.captures.map((c, i) => o.names?.[i] ?? path.basename(o.sources[i] ?? c.file));
  for (let ci = 0; ci < report.captures.length; ci++) {
    const mine = selections.filter((s) => s.conv.capture === ci);
    if (mine.length > 0 && o.sources[ci] !== undefined) await collect(o.sources[ci], mine, o.filter ?? null, o.resync ?? false);
  }

  // Every chosen packet once, in capture then frame order, with one comment per reason.
  interface Out { capture: number; k: Kept; comments: string[]; labels: Label[] }
  const out = new Map<string, Out>();
  for (const s of selections) {
    const name = names[s.conv.capture];
    for (const k of s.chosen) {
      const key = `${s.conv.capture}:${k.frame}`;
      let e = out.get(key);
      if (e === undefined) out.set(key, (e = { capture: s.conv.capture, k, comments: [], labels: [] }));
      for (const l of s.labels) {
        const text = evidenceComment(l, s.conv.id, k.frame, name, s.icmp.has(k.frame));
        if (!e.comments.includes(text)) e.comments.push(text);
        if (!e.labels.includes(l)) e.labels.push(l);
      }
    }
  }
  const packets = [...out.values()].sort((x, y) => x.capture - y.capture || x.k.frame - y.k.frame);

  const findingFrames: number[][] = report.findings.map(() => []);
  const examples = new Map<string, { rule: string; conversation: number; frames: number[] }>();
  for (const s of selections) {
    for (const l of s.labels) if (l.finding === null && l.rule !== null) examples.set(l.rule, { rule: l.rule, conversation: s.conv.id, frames: [] });
  }

  const dir = path.dirname(path.resolve(dest));
  const tmp = path.join(dir, `.${path.basename(dest)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const w = new PcapngWriter(tmp, { ifName: "", snaplen: 0, application: o.application, comment: shbComment(report, names, o.reportFile, leftOut) });
  try {
    const ifIds = new Map<string, number>();
    packets.forEach((e, i) => {
      const n = i + 1;
      const ik = `${e.capture}:${e.k.interfaceId}:${e.k.linkType}`;
      let ifId = ifIds.get(ik);
      if (ifId === undefined) {
        // No snap length is known from the source here: 0 is "no limit" (§4.2); the captured and
        // original lengths of every packet are kept as they were.
        ifId = w.addInterface(e.k.linkType, `${names[e.capture]}#${e.k.interfaceId}`, 0, `interface ${e.k.interfaceId} of capture ${e.capture + 1} (${names[e.capture]})`);
        ifIds.set(ik, ifId);
      }
      w.writePacketOn(ifId, e.k.tsSec, e.k.tsNsec, e.k.data, e.k.caplen, e.k.origLen, e.comments);
      for (const l of e.labels) {
        if (l.finding !== null) findingFrames[l.finding].push(n);
        else if (l.rule !== null) examples.get(l.rule)?.frames.push(n);
      }
    });
    w.close();
    const bytes = readFileSync(tmp);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    try {
      placeFile(tmp, dest, o.replace === true);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Error("it was created by something else while this ran and was left as it is (use --force to replace it)");
      throw e;
    }
    return {
      record: {
        file: dest,
        sha256,
        packets: packets.length,
        bytes: bytes.length,
        examples: [...examples.values()].sort((x, y) => x.conversation - y.conversation),
        conversationsLeftOut: leftOut,
        limits: { conversationsPerFinding: EVIDENCE_CONVERSATIONS_PER_FINDING, framesPerConversation: EVIDENCE_FRAMES_PER_CONVERSATION },
      },
      findingFrames: findingFrames.map((f) => [...new Set(f)].sort((x, y) => x - y)),
    };
  } catch (e) {
    if (!w.closed) w.close();
    if (existsSync(tmp)) unlinkSync(tmp);
    throw e;
  }
}

/** The SHB comment: which report, which captures, what the comments mean and the bounds. */
function shbComment(report: Report, names: string[], reportFile: string | null, leftOut: number): string {
  const caps = report.captures.map((c, i) => `${i + 1}: ${names[i]} (${c.format}${c.compressed ? ", gzip" : ""}, ${c.frames} frames, ${c.firstTimestamp ?? "no packets"} to ${c.lastTimestamp ?? "-"})`);
  return [
    `Evidence frames from ${report.generator.name} ${report.generator.version}, for the report ${reportFile ?? "written to standard output"} (matrix ${report.matrix.product} ${report.matrix.version}; ${report.findings.length} finding${report.findings.length === 1 ? "" : "s"}).`,
    `Captures: ${caps.join("; ")}.`,
    `Each packet's comment names the finding (or "${EVIDENCE_CONFORMING}" for one conforming example per matrix row seen), the row, the conversation and the frame number in its capture; filter with frame.comment contains "CODE".`,
    `At most ${EVIDENCE_CONVERSATIONS_PER_FINDING} conversations per finding and ${EVIDENCE_FRAMES_PER_CONVERSATION} frames per conversation (its first packets, its last ${EVIDENCE_TAIL_FRAMES}, ICMP errors quoting it)${leftOut > 0 ? `; ${leftOut} conversation${leftOut === 1 ? "" : "s"} of findings left out by that bound` : ""}.`,
  ].join("\n");
}

/**
 * The CLI's one call: writes the evidence file, says so on standard error (unless quiet), and
 * returns the report with `evidence` and each finding's `evidenceFrames`. When the file cannot be
 * written (disk full, a capture changed or gone since the analysis), the report is returned
 * without them and `error` says why — printed even when quiet — so the analysis is not lost; the
 * caller writes the report and exits 2.
 */
export async function addEvidence(
  report: Report,
  dest: string,
  o: EvidenceOptions & { redact?: boolean; quiet?: boolean; stderr: NodeJS.WritableStream },
): Promise<{ report: Report; error: string | null }> {
  let r: EvidenceResult;
  try {
    r = await writeEvidence(report, dest, o);
  } catch (e) {
    const error = `--evidence ${dest}: not written (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); the report is written without it`;
    o.stderr.write(`phoenix-netcheck: ${error}\n`);
    return { report, error };
  }
  if (!o.quiet) {
    o.stderr.write(`phoenix-netcheck: wrote evidence ${dest}: ${r.record.packets} packet${r.record.packets === 1 ? "" : "s"}, sha256 ${r.record.sha256}\n`);
    if (o.redact) o.stderr.write("phoenix-netcheck: note: --redact does not change the evidence file: it holds the original packets, addresses and names\n");
  }
  return { report: withEvidence(report, r), error: null };
}

/** The report with `evidence` and each finding's `evidenceFrames`. */
export function withEvidence(report: Report, r: EvidenceResult): Report {
  return {
    ...report,
    findings: report.findings.map((f, i) => ({ ...f, evidenceFrames: r.findingFrames[i] ?? [] })),
    evidence: r.record,
  };
}
