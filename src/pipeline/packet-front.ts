/**
 * The front of the packet loop, on the thread that reads: decode (with IP reassembly), the
 * --filter, and the decode counts. What it hands on is a decoded TCP/UDP packet, or an ICMP
 * error quoting one, for the conversation stage: in this thread (CaptureAnalysis), or in the
 * worker of the packet's shard (ShardedCapture, src/pipeline/sharded.ts).
 */
import type { RawPacket } from "../capture/index.js";
import { DecodeContext, decodePacket } from "../decode/decode.js";
import { FragmentReassembler } from "../decode/fragments.js";
import { DecodedPacket, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from "../decode/packet.js";
import type { DecodeCounts } from "../decode/counts.js";
import type { CaptureSummary } from "../capture/index.js";
import type { FlowStats } from "../flow/index.js";
import type { CaptureResult } from "../report/record.js";
import { DecodeTally } from "./decode-counts.js";

export class PacketFront {
  /** Packets given to `take()` (including those the filter dropped). */
  packets = 0;
  /** Packets the --filter expression let through. */
  accepted = 0;
  private readonly frags = new FragmentReassembler();
  private readonly decoding = new DecodeContext(this.frags);
  private readonly tally = new DecodeTally();
  private readonly decoded = new DecodedPacket();

  constructor(private readonly filter: ((p: DecodedPacket) => boolean) | null) {}

  /** What was decoded so far. */
  get counts(): DecodeCounts {
    return this.tally.counts;
  }

  /**
   * Decode and count one packet. Returns it decoded (reused: valid until the next call) when it
   * goes on: TCP or UDP, or an ICMP/ICMPv6 error quoting a packet; else null.
   */
  take(pkt: RawPacket): DecodedPacket | null {
    this.packets++;
    const p = this.decoded;
    // Decoded in place in the reader's chunk (no view per packet).
    const st = decodePacket(pkt, p, this.decoding);
    // The filter sees what could be decoded (addresses, ports, protocol); a packet it rejects
    // is not analyzed at all, as with tcpdump's filter.
    if (this.filter !== null && !this.filter(p)) return null;
    this.accepted++;
    if (!this.tally.account(st, p, pkt)) return null;
    const counts = this.tally.counts;
    const proto = p.ipProto;
    if (proto === IPPROTO_TCP) {
      counts.tcp++;
      return p;
    }
    if (proto === IPPROTO_UDP) {
      counts.udp++;
      return p;
    }
    if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      counts.icmp++;
      return p.hasQuoted ? p : null;
    }
    return null;
  }

  /** The capture's result: the reader's errors and the decode errors in frame order, the counts, `flow`. */
  result(summary: CaptureSummary, flow: FlowStats): CaptureResult {
    const errors = [...summary.errors, ...this.tally.errors].sort((a, b) => a.frame - b.frame || a.offset - b.offset);
    return { summary, errors, decode: this.tally.counts, flow };
  }

  /** End of the capture: unfinished fragments are dropped and counted. */
  end(): void {
    this.frags.flush();
    this.tally.fragmentsDone(this.frags);
  }
}
