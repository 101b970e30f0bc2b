/**
 * The analyze pipeline, left to right: capture file → packets → decoded layers → conversations →
 * detection. Files are read one after another, each streamed with constant memory; the result is
 * what the report writers render.
 */
import { readCapture, type CaptureSummary } from "./capture/file.js";
import type { CaptureError, RawPacket } from "./capture/types.js";
import { decodePacket, hasTransport } from "./decode/decode.js";
import { FragmentReassembler } from "./decode/fragments.js";
import { DecodedPacket, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from "./decode/packet.js";
import { Status } from "./decode/status.js";
import { detectConversation } from "./detect/conversation.js";
import type { Conversation } from "./flow/conversation.js";
import { DEFAULT_FLOW_OPTIONS, FlowTable, type FlowTableOptions } from "./flow/table.js";

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
}

export interface CaptureResult {
  summary: CaptureSummary;
  /** Reader errors and per-packet decode errors, in frame order (decode errors bounded). */
  errors: CaptureError[];
  decode: DecodeCounts;
}

export interface Analysis {
  captures: CaptureResult[];
  conversations: Conversation[];
}

export interface AnalyzeOptions {
  flow?: Partial<FlowTableOptions>;
  onProgress?: (file: string, bytesRead: number, fileSize: number | null, packets: number) => void;
}

function newCounts(): DecodeCounts {
  return {
    ipv4: 0, ipv6: 0, tcp: 0, udp: 0, icmp: 0, nonIp: {}, unsupportedLinkTypes: {}, fragments: 0,
    reassembled: 0, snaplenCut: 0, malformed: 0, errorsNotListed: 0, icmpUnmatched: 0, fragmentsIncomplete: 0,
  };
}

function hex4(n: number): string {
  return "0x" + n.toString(16).padStart(4, "0");
}

/** Analyze capture files one after another into one result. */
export async function analyzeFiles(files: string[], opts: AnalyzeOptions = {}): Promise<Analysis> {
  const flowOpts = { ...DEFAULT_FLOW_OPTIONS, ...opts.flow };
  const captures: CaptureResult[] = [];
  const conversations: Conversation[] = [];
  let idBase = 0;
  const decoded = new DecodedPacket();

  for (let ci = 0; ci < files.length; ci++) {
    const file = files[ci];
    const table = new FlowTable(ci, flowOpts, idBase);
    const frags = new FragmentReassembler();
    const counts = newCounts();
    const decodeErrors: CaptureError[] = [];
    let packets = 0;

    const onPacket = (pkt: RawPacket): void => {
      packets++;
      const st = decodePacket(pkt.data, pkt.caplen, pkt.origLen, pkt.linkType, pkt.tsSec, decoded, frags);
      const p = decoded;
      if (p.ipVersion === 4) counts.ipv4++;
      else if (p.ipVersion === 6) counts.ipv6++;
      if (p.wasFragment) counts.fragments++;
      if (p.reassembled) counts.reassembled++;

      if (st !== Status.OK) {
        if (st === Status.Unsupported) {
          if (p.failedLayer === "link") {
            const k = String(pkt.linkType);
            counts.unsupportedLinkTypes[k] = (counts.unsupportedLinkTypes[k] ?? 0) + 1;
          } else {
            const k = hex4(p.etherType);
            counts.nonIp[k] = (counts.nonIp[k] ?? 0) + 1;
          }
          return;
        }
        if (st === Status.FragmentPending) return;
        const cut = st === Status.Truncated && pkt.caplen < pkt.origLen;
        if (cut) counts.snaplenCut++;
        else {
          counts.malformed++;
          if (decodeErrors.length < MAX_LISTED_ERRORS) {
            decodeErrors.push({
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
        table.packet(p, pkt.frame, pkt.origLen, pkt.tsSec, pkt.tsNsec);
      } else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
        counts.icmp++;
        if (p.hasQuoted && table.icmpError(p, pkt.frame) === null) counts.icmpUnmatched++;
      }
    };

    const summary = await readCapture(file, onPacket, {
      onProgress: opts.onProgress ? (read, size) => opts.onProgress!(file, read, size, packets) : undefined,
    });

    frags.flush();
    counts.fragmentsIncomplete = frags.incomplete + frags.timedOut;
    for (const conv of table.conversations) detectConversation(conv);
    conversations.push(...table.conversations);
    idBase = table.lastId;

    const errors = [...summary.errors, ...decodeErrors].sort((a, b) => a.frame - b.frame || a.offset - b.offset);
    captures.push({ summary, errors, decode: counts });
  }
  return { captures, conversations };
}
