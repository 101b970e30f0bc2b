/**
 * The pcapng reader's `resync` scan (pcapng.ts): after a corrupt block length, look byte by byte
 * for the next block that is plausible by the rules of draft-ietf-opsawg-pcapng §3.1 (a block
 * type we know, a total length >= 12, a multiple of 4 and sane for its type, the trailing copy of
 * the length equal to the leading one) and, for an Enhanced Packet Block (§4.3), an interface
 * the section has and a captured length that fits the block.
 */
import {
  BLOCK_EPB,
  BLOCK_IDB,
  BLOCK_PB,
  BLOCK_SHB,
  BLOCK_SPB,
  BYTE_ORDER_MAGIC,
  isCountedNonPacketBlock,
} from "./pcapng-blocks.js";
import { type ChunkQueue, u32 } from "./queue.js";

export const enum Resync {
  /** A plausible block starts at the read position. */
  Found,
  /** More input is needed to decide. */
  Wait,
  /** The input ended without one; everything left was skipped. */
  End,
}

/**
 * Skips bytes of `q` until a plausible block starts at its read position. `le`: the section's
 * byte order; `ended`: no more input will come; `ifaces`: interfaces in the current section.
 */
export function resyncStep(q: ChunkQueue, le: boolean, ended: boolean, ifaces: number): Resync {
  for (;;) {
    if (q.available < 12) {
      if (!ended) return Resync.Wait;
      q.skip(q.available);
      return Resync.End;
    }
    const b = q.peek(0, 12);
    const o = q.off;
    let type = u32(b, o, le);
    let ble = le;
    if (u32(b, o, true) === BLOCK_SHB) {
      const bom = u32(b, o + 8, true);
      if (bom === BYTE_ORDER_MAGIC || bom === 0x4d3c2b1a) {
        ble = bom === BYTE_ORDER_MAGIC;
        type = BLOCK_SHB;
      } else type = -1;
    }
    const len = u32(b, o + 4, ble);
    const packetBlock = type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_PB;
    const known = packetBlock || type === BLOCK_SHB || type === BLOCK_IDB || type === 4 || type === 5 || type === 0xa || isCountedNonPacketBlock(type);
    if (known && len >= 12 && len % 4 === 0 && len <= (packetBlock ? 262144 + 64 : 1024 * 1024)) {
      if (q.available < len) {
        if (!ended) return Resync.Wait;
      } else {
        const t = q.peek(len - 4, 4);
        let ok = u32(t, q.off, ble) === len;
        if (ok && type === BLOCK_EPB) {
          const e = q.peek(0, 28);
          ok = len >= 32 && u32(e, q.off + 8, le) < ifaces && 32 + u32(e, q.off + 20, le) <= len;
        }
        if (ok) return Resync.Found;
      }
    }
    q.skip(1);
  }
}
