/**
 * The packet loop of one capture: RawPacket → decode → the conversation stage (flow, with
 * detection and aggregation as the flow table's sink, and, when the capture ends, every
 * conversation frozen into the view policy and report read: conversation-stage.ts). Fed one packet at a time: by `analyzeFiles` (src/pipeline/run.ts) from
 * a file, or by live capture from libpcap or tcpdump (src/cli/capture.ts).
 */
import type { CaptureSummary, RawPacket } from "../capture/index.js";
import { IPPROTO_TCP, IPPROTO_UDP, type DecodedPacket } from "../decode/packet.js";
import type { DecodeCounts } from "../decode/counts.js";
import { DEFAULT_FLOW_OPTIONS, type FlowTable, type FlowTableOptions } from "../flow/index.js";
import { connectionView, type ConnectionView } from "../policy/view.js";
import type { CaptureResult } from "../report/record.js";
import { ConversationStage, RunBudget } from "./conversation-stage.js";
import { PacketFront } from "./packet-front.js";

export { RunBudget } from "./conversation-stage.js";

export class CaptureAnalysis {
  private readonly front: PacketFront;
  private readonly stage: ConversationStage;
  private views: ConnectionView[] | null = null;
  private lastIdAfter = 0;

  constructor(
    index: number,
    idBase: number,
    flowOpts: FlowTableOptions = DEFAULT_FLOW_OPTIONS,
    filter: ((p: DecodedPacket) => boolean) | null = null,
    budget: RunBudget = new RunBudget(flowOpts),
  ) {
    this.front = new PacketFront(filter);
    this.stage = new ConversationStage(index, idBase, flowOpts, budget);
  }

  /** The capture's flow table. */
  get table(): FlowTable {
    return this.stage.table;
  }

  /** What was decoded so far. */
  get counts(): DecodeCounts {
    return this.front.counts;
  }

  /** Packets given to `packet()` (including those the filter dropped). */
  get packets(): number {
    return this.front.packets;
  }

  /** Packets the --filter expression let through. */
  get accepted(): number {
    return this.front.accepted;
  }

  /** Decode one packet and account it. `pkt.data` is only read during the call. */
  packet(pkt: RawPacket): void {
    const p = this.front.take(pkt);
    if (p === null) return;
    if (p.ipProto === IPPROTO_TCP || p.ipProto === IPPROTO_UDP) this.stage.packet(p, pkt.frame, pkt.origLen, pkt.tsSec, pkt.tsNsec);
    else if (!this.stage.icmpError(p, pkt.frame)) this.front.counts.icmpUnmatched++;
  }

  /**
   * The conversations so far, frozen with what was detected of them yet (the live status line
   * judges these every second; the capture's end is not known, so 0).
   */
  viewsSoFar(): ConnectionView[] {
    return this.stage.viewsSoFar();
  }

  /**
   * End of the capture: drop unfinished fragments, detect what is left in the flow table, fold
   * the rest of the unlisted conversations, freeze every conversation into its view, merge the
   * errors.
   */
  finish(summary: CaptureSummary): CaptureResult {
    this.front.end();
    if (this.views === null) {
      const { listed, aggregates } = this.stage.finish(endOf(summary));
      const views = listed;
      for (const a of aggregates) views.push(connectionView(a.conv, a.facts, a.info, endOf(summary)));
      this.views = views;
      this.lastIdAfter = this.table.lastId + aggregates.length;
    }
    return this.front.result(summary, this.table.stats);
  }

  /** Every conversation of the capture, frozen, listed ones first then the aggregates (after `finish`). */
  get conversations(): readonly ConnectionView[] {
    return this.views ?? [];
  }

  /** Last id handed out, aggregates included (the next capture numbers on from it; after `finish`). */
  get lastId(): number {
    return this.views === null ? this.table.lastId : this.lastIdAfter;
  }
}

/** A capture's last timestamp in seconds (0 when it had no packet). */
export function endOf(summary: CaptureSummary): number {
  const last = summary.lastTimestamp;
  return last ? last.sec + last.nsec / 1e9 : 0;
}
