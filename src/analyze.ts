/**
 * The analyze pipeline, left to right: capture file → packets → decoded layers → conversations →
 * detection. Files are read one after another, each streamed with constant memory; the result is
 * what the report writers render.
 */
import { readCapture, type CaptureSummary } from "./capture/file.js";
import { RawPacketView } from "./capture/pcap.js";
import type { CaptureError, RawPacket } from "./capture/types.js";
import { decodePacket, hasTransport, MSG_UNSUPPORTED_LINK_TYPE } from "./decode/decode.js";
import { FragmentReassembler } from "./decode/fragments.js";
import { DecodedPacket, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from "./decode/packet.js";
import { Status } from "./decode/status.js";
import { CertificateCache, detectConversation } from "./detect/index.js";
import type { Conversation } from "./flow/conversation.js";
import { DEFAULT_FLOW_OPTIONS, FlowBudget, FlowTable, type FlowStats, type FlowTableOptions } from "./flow/table.js";

/** How many per-packet decode errors are listed per capture; the rest are only counted. */
export const MAX_LISTED_ERRORS = 200;

/** What was decoded in one capture, beyond the reader's summary. */
export interface DecodeCounts {
  ipv4: number;
  ipv6: number;
  tcp: number;
  udp: number;
  icmp: number;
  /** Packets with no IP layer (ARP, LLDP, …), by EtherType in hex ("0x0806"). */
  nonIp: Record<string, number>;
  /** IP packets of protocols other than TCP, UDP and ICMP (ESP, GRE, …), by protocol number. */
  otherIpProtocols: Record<string, number>;
  /** Packets on link types we do not decode, by LINKTYPE number. */
  unsupportedLinkTypes: Record<string, number>;
  /** IP fragments seen, and datagrams reassembled from them. */
  fragments: number;
  reassembled: number;
  /** Packets cut by the capture's snaplen before a header ended (normal with a small snaplen). */
  snaplenCut: number;
  /** Packets whose headers contradict themselves, or are shorter than they claim. */
  malformed: number;
  /** Decode errors not listed in `errors` because the list was full. */
  errorsNotListed: number;
  /** ICMP errors that quoted a packet of no conversation in the capture. */
  icmpUnmatched: number;
  /** IP datagrams whose fragments never all arrived (dropped at the end of the capture or by the time limit). */
  fragmentsIncomplete: number;
  /**
   * IP datagrams dropped unfinished to stay within the reassembly limits (1,024 in progress, 4 MiB
   * held, 65,535 bytes each: docs/decoders.md); their fragments are in `fragments` only.
   */
  fragmentsDropped: number;
  /** IP fragments refused: past the largest possible datagram, or contradicting the datagram's end. */
  fragmentsRejected: number;
}

export interface CaptureResult {
  summary: CaptureSummary;
  /** Reader errors and per-packet decode errors, in frame order (decode errors bounded). */
  errors: CaptureError[];
  decode: DecodeCounts;
  /** How the flow table kept within its limits (maxConversations, aggregates, evictions). */
  flow?: FlowStats;
}

export interface Analysis {
  captures: CaptureResult[];
  conversations: Conversation[];
}

export interface AnalyzeOptions {
  flow?: Partial<FlowTableOptions>;
  /** A packet filter applied after decoding and before anything is counted (--filter). */
  filter?: (p: DecodedPacket) => boolean;
  onProgress?: (file: string, bytesRead: number, fileSize: number | null, packets: number) => void;
  /**
   * After a corrupt record or block length, look for the next plausible record and read on
   * (listed in the capture's errors with the offsets) instead of stopping. Default false: tshark
   * stops there, and the conformance test holds frame counts of damaged files to tshark's.
   */
  resync?: boolean;
  /** Aborting stops the reading (the current file is marked `interrupted`, later ones are not read). */
  signal?: AbortSignal;
}

function newCounts(): DecodeCounts {
  return {
    ipv4: 0, ipv6: 0, tcp: 0, udp: 0, icmp: 0, nonIp: {}, otherIpProtocols: {}, unsupportedLinkTypes: {}, fragments: 0,
    reassembled: 0, snaplenCut: 0, malformed: 0, errorsNotListed: 0, icmpUnmatched: 0, fragmentsIncomplete: 0,
    fragmentsDropped: 0, fragmentsRejected: 0,
  };
}

function hex4(n: number): string {
  return "0x" + n.toString(16).padStart(4, "0");
}

/**
 * One capture's analysis, fed one packet at a time: by `analyzeFiles` from a file, or by live
 * capture from libpcap or tcpdump. `finish()` runs the detectors and returns the capture's result.
 */
export class CaptureAnalysis {
  readonly table: FlowTable;
  readonly counts: DecodeCounts = newCounts();
  /** Packets given to `packet()` (including those the filter dropped). */
  packets = 0;
  /** Packets the --filter expression let through. */
  accepted = 0;
  private readonly frags = new FragmentReassembler();
  private readonly decodeErrors: CaptureError[] = [];
  private readonly decoded = new DecodedPacket();
  /** Parsed certificates and chain verdicts, shared by this capture's conversations (docs/detectors/tls.md). */
  private readonly certificates = new CertificateCache();

  constructor(
    index: number,
    idBase: number,
    flowOpts: FlowTableOptions = DEFAULT_FLOW_OPTIONS,
    private readonly filter: ((p: DecodedPacket) => boolean) | null = null,
    budget: FlowBudget = new FlowBudget(flowOpts),
  ) {
    // Detection runs when a conversation is retired (idle, finished and quiet, evicted from a
    // full table, or when the run's held bytes are over budget), so its kept bytes can be freed
    // long before the end of the capture.
    this.table = new FlowTable(index, flowOpts, idBase, (c) => detectConversation(c, false, this.certificates), budget);
  }

  /** Decode one packet and account it. `pkt.data` is only read during the call. */
  packet(pkt: RawPacket): void {
    this.packets++;
    const counts = this.counts;
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
    if (p.ipVersion === 4) counts.ipv4++;
    else if (p.ipVersion === 6) counts.ipv6++;
    if (p.wasFragment) counts.fragments++;
    if (p.reassembled) counts.reassembled++;

    if (st !== Status.OK) {
      if (st === Status.Unsupported) {
        if (p.message === MSG_UNSUPPORTED_LINK_TYPE) {
          const k = String(pkt.linkType);
          counts.unsupportedLinkTypes[k] = (counts.unsupportedLinkTypes[k] ?? 0) + 1;
        } else if (p.ipVersion === 0) {
          const k = hex4(p.etherType);
          counts.nonIp[k] = (counts.nonIp[k] ?? 0) + 1;
        } else {
          const k = String(p.ipProto);
          counts.otherIpProtocols[k] = (counts.otherIpProtocols[k] ?? 0) + 1;
        }
        return;
      }
      if (st === Status.FragmentPending) return;
      const cut = st === Status.Truncated && pkt.caplen < pkt.origLen;
      if (cut) counts.snaplenCut++;
      else {
        counts.malformed++;
        if (this.decodeErrors.length < MAX_LISTED_ERRORS) {
          this.decodeErrors.push({
            frame: pkt.frame,
            offset: pkt.offset,
            message: `frame ${pkt.frame}: ${p.failedLayer}: ${p.message}`,
            fatal: false,
          });
        } else counts.errorsNotListed++;
      }
      // A packet cut inside its TCP header still belongs to its conversation once the fields
      // up to the window were read (tshark gives it a tcp.stream too).
      if (!hasTransport(p)) return;
    }

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

  /** End of the capture: drop unfinished fragments, run the detectors, merge the errors. */
  finish(summary: CaptureSummary): CaptureResult {
    this.frags.flush();
    this.counts.fragmentsIncomplete = this.frags.incomplete + this.frags.timedOut;
    this.counts.fragmentsDropped = this.frags.dropped;
    this.counts.fragmentsRejected = this.frags.rejected;
    this.table.finish();
    for (const conv of this.table.conversations) if (conv.facts === null) detectConversation(conv, true, this.certificates);
    this.table.retainAll();
    const errors = [...summary.errors, ...this.decodeErrors].sort((a, b) => a.frame - b.frame || a.offset - b.offset);
    return { summary, errors, decode: this.counts, flow: this.table.stats };
  }
}

/** Analyze capture files one after another into one result. */
export async function analyzeFiles(files: string[], opts: AnalyzeOptions = {}): Promise<Analysis> {
  const flowOpts = { ...DEFAULT_FLOW_OPTIONS, ...opts.flow };
  // One budget for the whole run: the conversation limit, the aggregate cap and the byte budgets
  // hold across all files together, not per file.
  const budget = new FlowBudget(flowOpts);
  const captures: CaptureResult[] = [];
  const conversations: Conversation[] = [];
  let idBase = 0;
  for (let ci = 0; ci < files.length; ci++) {
    if (opts.signal?.aborted) break;
    const file = files[ci];
    const ca = new CaptureAnalysis(ci, idBase, flowOpts, opts.filter ?? null, budget);
    const summary = await readCapture(file, (pkt) => ca.packet(pkt), {
      resync: opts.resync ?? false,
      signal: opts.signal,
      onProgress: opts.onProgress ? (read, size) => opts.onProgress!(file, read, size, ca.packets) : undefined,
    });
    captures.push(ca.finish(summary));
    conversations.push(...ca.table.conversations);
    idBase = ca.table.lastId;
  }
  return { captures, conversations };
}
