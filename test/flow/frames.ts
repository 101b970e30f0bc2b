/**
 * Small builders for whole captures of hand-made conversations (issue 18's test captures): a
 * classic pcap of Ethernet/IPv4 frames, 1 ms apart, and TCP/UDP frames between two hosts. Every
 * field is commented in test/decode/build.ts and test/capture/build.ts, which these call.
 */
import { pcapHeader, pcapRecord } from "../capture/build.js";
import { cat, eth, ipv4, tcp, udp, type Bytes } from "../decode/build.js";

export const HOST_A = [10, 18, 0, 1];
export const HOST_B = [10, 18, 0, 2];

/** TCP flag bits (RFC 9293 §3.1). */
export const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** A pcap (little-endian, microseconds, Ethernet) holding `frames`, 1 ms apart, each cut to `snaplen` bytes. */
export function pcapOf(frames: Uint8Array[], snaplen = 65535): Uint8Array {
  return cat(
    pcapHeader({ le: true, snaplen, linkType: 1 }),
    ...frames.map((f, i) => pcapRecord(true, 1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1000, f.subarray(0, snaplen), f.length, Math.min(f.length, snaplen))),
  );
}

export interface Seg {
  /** Sent by A (true) or B. */
  fromA: boolean;
  seq: number;
  ack?: number;
  flags: number;
  payload?: Bytes;
  /** Bytes after the IP packet inside the Ethernet frame (padding the IP Total Length excludes). */
  trailer?: Bytes;
}

/** TCP between HOST_A:portA and HOST_B:portB, one frame per segment. */
export function tcpFrames(portA: number, portB: number, segs: Seg[]): Uint8Array[] {
  return segs.map((s) => {
    const seg = tcp({ sport: s.fromA ? portA : portB, dport: s.fromA ? portB : portA, seq: s.seq, ack: s.ack ?? 0, flags: s.flags, payload: s.payload ?? [] });
    const ip = ipv4({ src: s.fromA ? HOST_A : HOST_B, dst: s.fromA ? HOST_B : HOST_A, proto: 6, payload: seg });
    return eth(0x0800, s.trailer !== undefined ? cat(ip, s.trailer) : ip);
  });
}

/** UDP datagrams between HOST_A:portA and HOST_B:portB. */
export function udpFrames(portA: number, portB: number, dgrams: { fromA: boolean; payload: Bytes }[]): Uint8Array[] {
  return dgrams.map((d) =>
    eth(0x0800, ipv4({ src: d.fromA ? HOST_A : HOST_B, dst: d.fromA ? HOST_B : HOST_A, proto: 17, payload: udp({ sport: d.fromA ? portA : portB, dport: d.fromA ? portB : portA, payload: d.payload }) })),
  );
}
