/**
 * Past the run's conversation limit (`--max-conversations`, FlowTableOptions.maxConversations)
 * the flow table still tracks every conversation, but hands the ones it does not list to the
 * pipeline when they leave (FlowSink.unlisted). They are folded here into aggregate entries
 * (same transport, client, server, server port, state, protocol), so the report's size stays
 * bounded. Aggregates are bounded too (MAX_AGGREGATES; past it they share ever fewer fields,
 * down to transport, state and protocol). This is the report's limit, not flow tracking: it
 * lives in the pipeline because it reads what the detectors found (docs/performance.md).
 */
import type { ConversationFacts } from "../detect/types.js";
import { Conversation, FIRST_FRAMES_KEPT, connHistory, connState, type ConversationData } from "../flow/conversation.js";
import type { FlowStats } from "../flow/index.js";
import type { AggregateInfo, AggregateLevel } from "../policy/view.js";

const LEVELS: readonly AggregateLevel[] = ["port", "hosts", "client", "all"];

/** Most aggregate entries in the run at full detail; past it aggregates share fewer fields. */
export const MAX_AGGREGATES = 10_000;

/** An address as a short map key (not for display). */
function addrKey(ip: Uint8Array, v: 4 | 6): string {
  if (v === 4) return String(((ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3]) >>> 0);
  let k = "";
  for (let i = 0; i < 16; i += 2) k += ((ip[i] << 8) | ip[i + 1]).toString(36) + ":";
  return k;
}

/** One aggregate entry: its summed counters (a Conversation that no table holds), what it stands for, its first member's facts. */
export interface AggregateEntry {
  readonly conv: Conversation;
  readonly info: AggregateInfo;
  readonly facts: ConversationFacts | null;
  /** What its members share (the fold's map key). */
  readonly key: string;
}

/** The run's count of aggregate entries, shared by the captures' aggregators (the cap is the run's). */
export interface AggregateCount {
  aggregates: number;
}

/** One capture's aggregates. */
export class Aggregator {
  private readonly entries = new Map<string, AggregateEntry>();

  /** `stats`: the capture's flow stats, whose aggregated/aggregates/coarseAggregated this fills. */
  constructor(private readonly run: AggregateCount, private readonly stats: FlowStats) {}

  /** Fold `c` (unlisted, out of the table, detected: `facts`) into its entry. */
  fold(c: Conversation, facts: ConversationFacts | null): void {
    const state = connState(c);
    const proto = facts?.protocol ?? "none";
    const v = c.ipVersion;
    const rest = `${c.transport}${v}|${state}|${proto}|${c.icmpCount > 0 ? `${c.icmpType}/${c.icmpCode}` : ""}`;
    const client = addrKey(c.clientIp, v);
    const server = addrKey(c.serverIp, v);
    let agg: AggregateEntry | undefined;
    for (let i = 0; i < LEVELS.length && agg === undefined; i++) {
      const level = LEVELS[i];
      // Built only as far as needed: most folds stop at the first level.
      const key =
        i === 0 ? `${rest}|${client}|${server}|${c.serverPort}` : i === 1 ? `${rest}|${client}|${server}|*` : i === 2 ? `${rest}|${client}|*|*` : `${rest}|*|*|*`;
      agg = this.entries.get(key);
      // Each coarser level may add a tenth of the cap more; "all" has only a handful of keys.
      // The cap is the run's: every capture's entries count.
      if (agg === undefined && (level === "all" || this.run.aggregates < MAX_AGGREGATES + (i * MAX_AGGREGATES) / 10)) {
        agg = newAggregate(c, level, state, facts, key);
        this.entries.set(key, agg);
        this.run.aggregates++;
      }
      if (agg !== undefined && i > 0) this.stats.coarseAggregated++;
    }
    addInto(agg!, c, 1);
    this.stats.aggregated++;
  }

  /** End of the capture: the entries, numbered on from `lastId` (after the listed conversations). */
  finish(lastId: number): AggregateEntry[] {
    const out = [...this.entries.values()];
    for (const e of out) e.conv.id = ++lastId;
    this.stats.aggregates = out.length;
    this.entries.clear();
    return out;
  }
}

/**
 * One capture's entries from several shards (each worker folded its own conversations) merged by
 * key into one list, in order of their first frame; the first member's facts stand for each.
 */
export function mergeAggregates(entries: readonly AggregateEntry[]): AggregateEntry[] {
  const sorted = [...entries].sort((x, y) => x.conv.firstFrame - y.conv.firstFrame);
  const byKey = new Map<string, AggregateEntry>();
  for (const e of sorted) {
    const into = byKey.get(e.key);
    if (into === undefined) byKey.set(e.key, e);
    else addInto(into, e.conv, e.info.conversations, e.info.serverPortLow, e.info.serverPortHigh);
  }
  return [...byKey.values()];
}

/** Add `c` (one conversation, or an entry standing for `n`) to entry `e`. */
function addInto(e: AggregateEntry, c: ConversationData, n: number, portLow = c.serverPort, portHigh = c.serverPort): void {
  const { conv: a, info } = e;
  info.conversations += n;
  if (portLow < info.serverPortLow) info.serverPortLow = portLow;
  if (portHigh > info.serverPortHigh) info.serverPortHigh = portHigh;
  a.packetsClient += c.packetsClient;
  a.packetsServer += c.packetsServer;
  a.bytesClient += c.bytesClient;
  a.bytesServer += c.bytesServer;
  if (c.firstFrame < a.firstFrame) a.firstFrame = c.firstFrame;
  if (c.lastFrame > a.lastFrame) a.lastFrame = c.lastFrame;
  if (n === 1) {
    if (a.firstFrames.length < FIRST_FRAMES_KEPT) a.firstFrames.push(c.firstFrame);
  } else for (const f of c.firstFrames) if (a.firstFrames.length < FIRST_FRAMES_KEPT) a.firstFrames.push(f);
  if (c.startSec < a.startSec || (c.startSec === a.startSec && c.startNsec < a.startNsec)) {
    a.startSec = c.startSec;
    a.startNsec = c.startNsec;
  }
  if (c.endSec > a.endSec || (c.endSec === a.endSec && c.endNsec > a.endNsec)) {
    a.endSec = c.endSec;
    a.endNsec = c.endNsec;
  }
  if (c.icmpCount > 0) {
    a.icmpType = c.icmpType;
    a.icmpCode = c.icmpCode;
    a.icmpCount += c.icmpCount;
    for (const f of c.icmpFrames) if (a.icmpFrames.length < 16) a.icmpFrames.push(f);
  }
}

function newAggregate(c: Conversation, level: AggregateLevel, state: string, facts: ConversationFacts | null, key: string): AggregateEntry {
  const a = new Conversation();
  a.capture = c.capture;
  a.stream = -1;
  a.transport = c.transport;
  a.ipVersion = c.ipVersion;
  if (level === "port" || level === "hosts" || level === "client") a.clientIp.set(c.clientIp);
  if (level === "port" || level === "hosts") a.serverIp.set(c.serverIp);
  a.serverPort = level === "port" ? c.serverPort : 0;
  a.clientBy = c.clientBy;
  a.firstFrame = c.firstFrame;
  a.lastFrame = c.lastFrame;
  a.startSec = c.startSec;
  a.startNsec = c.startNsec;
  a.endSec = c.endSec;
  a.endNsec = c.endNsec;
  a.firstFromServer = c.firstFromServer;
  a.retired = true;
  a.listed = true;
  const info: AggregateInfo = {
    conversations: 0,
    state,
    history: connHistory(c),
    level,
    serverPortLow: c.serverPort,
    serverPortHigh: c.serverPort,
  };
  return { conv: a, info, facts, key };
}
