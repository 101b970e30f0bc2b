/**
 * The packet loop of one capture: RawPacket → decode → flow, with detection and aggregation as
 * the flow table's sink, and, when the capture ends, every conversation frozen into the view
 * policy and report read. Fed one packet at a time: by `analyzeFiles` (src/pipeline/run.ts) from
 * a file, or by live capture from libpcap or tcpdump (src/cli/capture.ts).
 */
import type { CaptureSummary } from "../capture/file.js";
import { RawPacketView } from "../capture/pcap.js";
import type { RawPacket } from "../capture/types.js";
import { decodePacket } from "../decode/decode.js";
import { FragmentReassembler } from "../decode/fragments.js";
import { DecodedPacket, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from "../decode/packet.js";
import type { DecodeCounts } from "../decode/counts.js";
import type { Conversation } from "../flow/conversation.js";
import { DEFAULT_FLOW_OPTIONS, FlowBudget, FlowTable, type FlowSink, type FlowTableOptions } from "../flow/index.js";
import { connectionView, type ConnectionView } from "../policy/view.js";
import type { CaptureResult } from "../report/record.js";
import { Aggregator, type AggregateCount } from "./aggregate.js";
import { DecodeTally } from "./decode-counts.js";
import { DetectStage } from "./detect-stage.js";
import { likelyServerPorts } from "./server-ports.js";

/**
 * The limits of one run, shared by its captures: the flow table's (FlowBudget) and the count of
 * aggregate entries (the cap of src/pipeline/aggregate.ts is the run's, not each file's).
 */
export class RunBudget extends FlowBudget implements AggregateCount {
  /** Aggregate entries made so far in the run. */
  aggregates = 0;
}

export class CaptureAnalysis {
  readonly table: FlowTable;
  /** Packets given to `packet()` (including those the filter dropped). */
  packets = 0;
  /** Packets the --filter expression let through. */
  accepted = 0;
  private readonly frags = new FragmentReassembler();
  private readonly tally = new DecodeTally();
  private readonly decoded = new DecodedPacket();
  private readonly detection = new DetectStage();
  private readonly aggregator: Aggregator;
  private views: ConnectionView[] | null = null;
  private lastIdAfter = 0;

  constructor(
    index: number,
    idBase: number,
    flowOpts: FlowTableOptions = DEFAULT_FLOW_OPTIONS,
    private readonly filter: ((p: DecodedPacket) => boolean) | null = null,
    budget: RunBudget = new RunBudget(flowOpts),
  ) {
    // Detection runs when a conversation is retired (idle, finished and quiet, evicted from a
    // full table, or when the run's held bytes are over budget), so its kept bytes can be freed
    // long before the end of the capture; the unlisted ones are folded when they leave.
    const detection = this.detection;
    const sink: FlowSink = {
      retire: (c) => {
        detection.detect(c);
      },
      unlisted: (c) => this.aggregator.fold(c, detection.take(c)),
    };
    this.table = new FlowTable(index, { ...flowOpts, likelyServerPorts: flowOpts.likelyServerPorts ?? likelyServerPorts() }, idBase, sink, budget);
    this.aggregator = new Aggregator(budget, this.table.stats);
  }

  /** What was decoded so far. */
  get counts(): DecodeCounts {
    return this.tally.counts;
  }

  /** Decode one packet and account it. `pkt.data` is only read during the call. */
  packet(pkt: RawPacket): void {
    this.packets++;
    const p = this.decoded;
    // The readers' packets are decoded in place in their chunk (no view per packet).
    const st =
      pkt instanceof RawPacketView
        ? decodePacket(pkt.buf, pkt.caplen, pkt.origLen, pkt.linkType, pkt.tsSec, p, this.frags, pkt.start)
        : decodePacket(pkt.data, pkt.caplen, pkt.origLen, pkt.linkType, pkt.tsSec, p, this.frags);
    // The filter sees what could be decoded (addresses, ports, protocol); a packet it rejects
    // is not analyzed at all, as with tcpdump's filter.
    if (this.filter !== null && !this.filter(p)) return;
    this.accepted++;
    if (!this.tally.account(st, p, pkt)) return;

    const counts = this.tally.counts;
    const proto = p.ipProto;
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      if (proto === IPPROTO_TCP) counts.tcp++;
      else counts.udp++;
      this.table.packet(p, pkt.frame, pkt.origLen, pkt.tsSec, pkt.tsNsec);
    } else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      counts.icmp++;
      if (p.hasQuoted && this.table.icmpError(p, pkt.frame) === null) counts.icmpUnmatched++;
    }
  }

  /**
   * The conversations so far, frozen with what was detected of them yet (the live status line
   * judges these every second; the capture's end is not known, so 0).
   */
  viewsSoFar(): ConnectionView[] {
    return this.table.conversations.map((c) => connectionView(c, this.detection.factsOf(c), null, 0));
  }

  /**
   * End of the capture: drop unfinished fragments, detect what is left in the flow table, fold
   * the rest of the unlisted conversations, freeze every conversation into its view, merge the
   * errors.
   */
  finish(summary: CaptureSummary): CaptureResult {
    this.frags.flush();
    this.tally.fragmentsDone(this.frags);
    this.table.finish();
    if (this.views === null) {
      const last = summary.lastTimestamp;
      const end = last ? last.sec + last.nsec / 1e9 : 0;
      const views = this.table.conversations.map((c: Conversation) => connectionView(c, this.detection.factsOf(c), null, end));
      const aggregates = this.aggregator.finish(this.table.lastId);
      for (const a of aggregates) views.push(connectionView(a.conv, a.facts, a.info, end));
      this.views = views;
      this.lastIdAfter = this.table.lastId + aggregates.length;
    }
    const errors = [...summary.errors, ...this.tally.errors].sort((a, b) => a.frame - b.frame || a.offset - b.offset);
    return { summary, errors, decode: this.tally.counts, flow: this.table.stats };
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
