/**
 * Structure-aware mutations of capture files for the fuzz tests. The mutator knows where records
 * (classic pcap, draft-ietf-opsawg-pcap §5) and blocks (pcapng, draft-ietf-opsawg-pcapng §3.1)
 * start, so it can hit length fields, cut at block boundaries and move whole blocks, besides
 * flipping bits anywhere.
 */

/** mulberry32: a small seeded PRNG, so every case can be replayed from (seed, index). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Block {
  /** Offset of the record header or block start. */
  start: number;
  end: number;
  /** Offsets of the 32-bit length fields in it (caplen/origLen, or both block total lengths). */
  lengthFields: number[];
  /** Offset of the packet bytes (pcap record data, EPB packet data), or -1. */
  data: number;
}

export interface Layout {
  format: "pcap" | "pcapng" | "other";
  le: boolean;
  /** Header (pcap file header) then records, or every pcapng block. */
  blocks: Block[];
  /** Offsets of link type fields (pcap header, IDBs). */
  linkTypeFields: { at: number; size: 2 | 4 }[];
}

function rd32(b: Uint8Array, o: number, le: boolean): number {
  return le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Where the records or blocks of a (well-formed) capture are. Stops at the first bad length. */
export function layout(b: Uint8Array): Layout {
  const out: Layout = { format: "other", le: true, blocks: [], linkTypeFields: [] };
  if (b.length < 24) return out;
  const m = rd32(b, 0, false);
  if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1) {
    out.format = "pcap";
    out.le = m === 0xd4c3b2a1 || m === 0x4d3cb2a1;
    out.blocks.push({ start: 0, end: 24, lengthFields: [16], data: -1 });
    out.linkTypeFields.push({ at: 20, size: 4 });
    let o = 24;
    while (o + 16 <= b.length) {
      const cap = rd32(b, o + 8, out.le);
      if (o + 16 + cap > b.length) break;
      out.blocks.push({ start: o, end: o + 16 + cap, lengthFields: [o + 8, o + 12], data: o + 16 });
      o += 16 + cap;
    }
    return out;
  }
  if (m === 0x0a0d0d0a) {
    out.format = "pcapng";
    let o = 0;
    let le = true;
    while (o + 12 <= b.length) {
      const type = rd32(b, o, le);
      if (type === 0x0a0d0d0a && o + 12 <= b.length) le = rd32(b, o + 8, true) === 0x1a2b3c4d;
      const len = rd32(b, o + 4, le);
      if (len < 12 || len % 4 !== 0 || o + len > b.length) break;
      const blk: Block = { start: o, end: o + len, lengthFields: [o + 4, o + len - 4], data: -1 };
      if (type === 6 && len >= 32) {
        blk.lengthFields.push(o + 20, o + 24); // EPB captured and original lengths
        blk.data = o + 28;
      }
      if (type === 1) out.linkTypeFields.push({ at: o + 8, size: 2 });
      out.blocks.push(blk);
      o += len;
    }
    out.le = le;
  }
  return out;
}

function wr32(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (o + 4 > b.length) return;
  if (le) {
    b[o] = v & 0xff;
    b[o + 1] = (v >>> 8) & 0xff;
    b[o + 2] = (v >>> 16) & 0xff;
    b[o + 3] = (v >>> 24) & 0xff;
  } else {
    b[o] = (v >>> 24) & 0xff;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
  }
}

export const MUTATIONS = [
  "bitflip",
  "byteset",
  "length-zero",
  "length-huge",
  "length-off-by-one",
  "inner-length",
  "truncate-block",
  "truncate-anywhere",
  "duplicate-block",
  "swap-blocks",
  "link-type",
  "splice-garbage",
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** Values a 32-bit length field is set to ("huge" covers 4 GiB, 2^31 and just past our limits). */
const HUGE = [0xffffffff, 0x80000000, 0x7fffffff, 0x04000001, 0x00040001, 0x0000ffff];
const LINK_TYPES = [0, 1, 101, 113, 276, 12, 14, 228, 229, 0, 0xffff, 147, 105, 127, 9, 50];

/** One mutated copy of `src`. `r` drives every choice. */
export function mutate(src: Uint8Array, r: () => number, kind?: Mutation): { bytes: Uint8Array; kind: Mutation } {
  const lay = layout(src);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const k = kind ?? pick(MUTATIONS);
  let b: Uint8Array = src.slice();
  const blocks = lay.blocks;
  const blk = blocks.length > 0 ? pick(blocks) : null;
  switch (k) {
    case "bitflip": {
      const n = 1 + Math.floor(r() * 8);
      for (let i = 0; i < n && b.length > 0; i++) {
        const at = Math.floor(r() * b.length);
        b[at] ^= 1 << Math.floor(r() * 8);
      }
      break;
    }
    case "byteset": {
      // A byte inside a packet set to a boundary value (IHL, data offset, TLS lengths, …).
      const at = blk !== null && blk.data >= 0 ? blk.data + Math.floor(r() * Math.max(1, blk.end - blk.data)) : Math.floor(r() * b.length);
      if (at < b.length) b[at] = pick([0, 1, 0x7f, 0x80, 0xff, 0x40, 0x45, 0x4f, 0x50, 0xf0]);
      break;
    }
    case "length-zero":
    case "length-huge":
    case "length-off-by-one": {
      if (blk === null) break;
      const f = pick(blk.lengthFields);
      const v = rd32(b, f, lay.le);
      const nv = k === "length-zero" ? 0 : k === "length-huge" ? pick(HUGE) : (v + (r() < 0.5 ? 1 : -1)) >>> 0;
      wr32(b, f, nv, lay.le);
      break;
    }
    case "inner-length": {
      // A 16-bit length inside the packet (IP total length, UDP length, TLS record length, …).
      if (blk === null || blk.data < 0) break;
      const at = blk.data + Math.floor(r() * Math.max(1, blk.end - blk.data - 1));
      const v = pick([0, 1, 0xffff, 0x8000, 0x4000, 0x0014, 0x0028]);
      if (at + 1 < b.length) {
        b[at] = v >>> 8;
        b[at + 1] = v & 0xff;
      }
      break;
    }
    case "truncate-block": {
      if (blk === null) break;
      b = b.slice(0, pick([blk.start, blk.end, blk.start + Math.floor(r() * (blk.end - blk.start))]));
      break;
    }
    case "truncate-anywhere":
      b = b.slice(0, Math.floor(r() * b.length));
      break;
    case "duplicate-block": {
      if (blk === null) break;
      const copy = src.subarray(blk.start, blk.end);
      const at = pick(blocks).end;
      b = concat(src.subarray(0, at), copy, src.subarray(at));
      break;
    }
    case "swap-blocks": {
      if (blocks.length < 3) break;
      const i = 1 + Math.floor(r() * (blocks.length - 1));
      const j = 1 + Math.floor(r() * (blocks.length - 1));
      if (i === j) break;
      const [x, y] = i < j ? [blocks[i], blocks[j]] : [blocks[j], blocks[i]];
      b = concat(src.subarray(0, x.start), src.subarray(y.start, y.end), src.subarray(x.end, y.start), src.subarray(x.start, x.end), src.subarray(y.end));
      break;
    }
    case "link-type": {
      if (lay.linkTypeFields.length === 0) break;
      const f = pick(lay.linkTypeFields);
      const v = pick(LINK_TYPES);
      if (f.size === 4) wr32(b, f.at, v, lay.le);
      else if (lay.le) {
        b[f.at] = v & 0xff;
        b[f.at + 1] = v >>> 8;
      } else {
        b[f.at] = v >>> 8;
        b[f.at + 1] = v & 0xff;
      }
      break;
    }
    case "splice-garbage": {
      const at = blk !== null ? blk.start : Math.floor(r() * b.length);
      const g = new Uint8Array(1 + Math.floor(r() * 64));
      for (let i = 0; i < g.length; i++) g[i] = Math.floor(r() * 256);
      b = concat(b.subarray(0, at), g, b.subarray(at));
      break;
    }
  }
  return { bytes: b, kind: k };
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
