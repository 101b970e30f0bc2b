/**
 * What the flow layer shows of one conversation to whoever reads its bytes (the detectors): the
 * first bytes each way for TCP, the first datagrams for UDP. flow/ owns these shapes because it
 * keeps the bytes; detect/ reads them (src/detect/types.ts re-exports them) and flow never reads
 * a detector's answer.
 */
import type { Conversation } from "./conversation.js";

export type Direction = "client" | "server";

/** One UDP datagram's payload (or the first bytes of it), in capture order. */
export interface Datagram {
  fromClient: boolean;
  /** 1-based frame number it came in. */
  frame: number;
  data: Uint8Array;
}

/** What a detector is shown of one conversation. Buffers are read-only to detectors. */
export interface StreamSample {
  transport: "tcp" | "udp";
  clientPort: number;
  serverPort: number;
  /** TCP: the first bytes of in-order payload the client sent (bounded, default 16 KiB). */
  client: Uint8Array;
  /** TCP: the first bytes of in-order payload the server sent. */
  server: Uint8Array;
  /** TCP: true when no more bytes can come that way (closed, cap reached, gap, end of capture). */
  clientDone: boolean;
  serverDone: boolean;
  /** TCP: true when `client`/`server` stops because a segment was missing (capture loss). */
  clientGap: boolean;
  serverGap: boolean;
  /**
   * TCP: true when that side's SYN was not captured (the capture began mid-connection), so its
   * bytes may start anywhere in its stream, even inside a record. Always false for UDP.
   */
  clientStartMissing: boolean;
  serverStartMissing: boolean;
  /** Who sent the first payload byte; null when neither did. */
  firstSpeaker: Direction | null;
  /** UDP: the first datagrams both ways (bounded count and size). Empty for TCP. */
  datagrams: Datagram[];
}

const EMPTY = new Uint8Array(0);

/**
 * True when the conversation's sample would hold no payload byte either way: what detect's
 * `hasNoPayload(sampleOf(conv))` says, without making the sample (a scan's million SYN-only
 * conversations are detected by this test alone).
 */
export function sampleIsEmpty(conv: Conversation): boolean {
  const t = conv.tcp;
  if (t !== null) return t.client.length === 0 && t.server.length === 0;
  return !conv.datagrams.some((d) => d.data.length > 0);
}

/**
 * The sample of a conversation as it is now. The flow table has already finished its TCP tracker
 * (TcpTracker.finish) before it hands the conversation on, so this only reads.
 */
export function sampleOf(conv: Conversation): StreamSample {
  const t = conv.tcp;
  if (t !== null) {
    return {
      transport: "tcp",
      clientPort: conv.clientPort,
      serverPort: conv.serverPort,
      client: t.client.bytes(),
      server: t.server.bytes(),
      clientDone: t.client.done,
      serverDone: t.server.done,
      clientGap: t.client.gap,
      serverGap: t.server.gap,
      clientStartMissing: t.clientStartMissing,
      serverStartMissing: t.serverStartMissing,
      firstSpeaker: t.firstSpeaker,
      datagrams: [],
    };
  }
  const first = conv.datagrams.length > 0 ? (conv.datagrams[0].fromClient ? "client" : "server") : null;
  return {
    transport: "udp",
    clientPort: conv.clientPort,
    serverPort: conv.serverPort,
    client: EMPTY,
    server: EMPTY,
    clientDone: true,
    serverDone: true,
    clientGap: false,
    serverGap: false,
    clientStartMissing: false,
    serverStartMissing: false,
    firstSpeaker: first,
    datagrams: conv.datagrams,
  };
}

/** The frame that carried byte `offset` of one side's TCP stream (0 when unknown or UDP). */
export function frameAt(conv: Conversation, dir: Direction, offset: number): number {
  const t = conv.tcp;
  if (t === null) return 0;
  return (dir === "client" ? t.client : t.server).frameAt(offset);
}
