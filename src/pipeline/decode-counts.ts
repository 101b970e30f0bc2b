/**
 * Counting what the decoders made of each packet (the report's `captures[].decode`), and listing
 * the per-packet decode errors, bounded. One tally per capture.
 */
import type { CaptureError, RawPacket } from "../capture/types.js";
import type { DecodeCounts } from "../decode/counts.js";
import { hasTransport, MSG_UNSUPPORTED_LINK_TYPE } from "../decode/decode.js";
import type { FragmentReassembler } from "../decode/fragments.js";
import type { DecodedPacket } from "../decode/packet.js";
import { Status } from "../decode/status.js";

/** How many per-packet decode errors are listed per capture; the rest are only counted. */
export const MAX_LISTED_ERRORS = 200;

export function newDecodeCounts(): DecodeCounts {
  return {
    ipv4: 0, ipv6: 0, tcp: 0, udp: 0, icmp: 0, nonIp: {}, otherIpProtocols: {}, unsupportedLinkTypes: {}, fragments: 0,
    reassembled: 0, snaplenCut: 0, malformed: 0, errorsNotListed: 0, icmpUnmatched: 0, fragmentsIncomplete: 0,
    fragmentsDropped: 0, fragmentsRejected: 0,
  };
}

function hex4(n: number): string {
  return "0x" + n.toString(16).padStart(4, "0");
}

export class DecodeTally {
  readonly counts: DecodeCounts = newDecodeCounts();
  /** Per-packet decode errors, in frame order, at most MAX_LISTED_ERRORS. */
  readonly errors: CaptureError[] = [];

  /**
   * Count one packet the filter let through, decoded with status `st`. True when it goes on to
   * the flow table: decoded, or cut inside its TCP header once the fields up to the window were
   * read (tshark gives it a tcp.stream too).
   */
  account(st: Status, p: DecodedPacket, pkt: RawPacket): boolean {
    const counts = this.counts;
    if (p.ipVersion === 4) counts.ipv4++;
    else if (p.ipVersion === 6) counts.ipv6++;
    if (p.wasFragment) counts.fragments++;
    if (p.reassembled) counts.reassembled++;
    if (st === Status.OK) return true;
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
      return false;
    }
    if (st === Status.FragmentPending) return false;
    const cut = st === Status.Truncated && pkt.caplen < pkt.origLen;
    if (cut) counts.snaplenCut++;
    else {
      counts.malformed++;
      if (this.errors.length < MAX_LISTED_ERRORS) {
        this.errors.push({
          frame: pkt.frame,
          offset: pkt.offset,
          message: `frame ${pkt.frame}: ${p.failedLayer}: ${p.message}`,
          fatal: false,
        });
      } else counts.errorsNotListed++;
    }
    return hasTransport(p);
  }

  /** End of the capture: what the fragment reassembler dropped, rejected or never finished. */
  fragmentsDone(frags: FragmentReassembler): void {
    this.counts.fragmentsIncomplete = frags.incomplete + frags.timedOut;
    this.counts.fragmentsDropped = frags.dropped;
    this.counts.fragmentsRejected = frags.rejected;
  }
}
