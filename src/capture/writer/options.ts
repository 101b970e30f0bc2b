/**
 * pcapng option encoding for the writer (draft-ietf-opsawg-pcapng §3.5: code u16, length u16,
 * value padded to 32 bits, ended by opt_endofopt) and the 64-bit nanosecond timestamp split
 * (§4.3 with if_tsresol 9). Little-endian, as the writer's SHB says (§4.1).
 */

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;

/** An option value is at most 65535 bytes (16-bit Option Length, §3.5). */
export const MAX_OPTION_BYTES = 65535;

const TWO32 = 4294967296;
export const enc = new TextEncoder();

/** A 64-bit count as its high and low 32-bit words. */
export interface Ns64 {
  high: number;
  low: number;
}

/**
 * sec·10^9 + nsec as two 32-bit words, exactly, without BigInt: the product exceeds 2^53, so it is
 * built from sec's high and low 16 bits (each partial product stays below 2^53).
 */
export function splitNs(sec: number, nsec: number, out: Ns64): Ns64 {
  const secHi = Math.floor(sec / 65536);
  const secLo = sec - secHi * 65536;
  const p = secHi * 1e9; // < 2^48 for any sec below 2^34
  const pHi = Math.floor(p / 65536);
  const pLo = p - pHi * 65536;
  let low = pLo * 65536 + secLo * 1e9 + nsec; // < 2^47: exact
  const carry = Math.floor(low / TWO32);
  low -= carry * TWO32;
  out.high = (pHi + carry) >>> 0;
  out.low = low >>> 0;
  return out;
}

/** The two words computed by splitNs (for tests). */
export function splitNsWords(sec: number, nsec: number): [number, number] {
  const w = splitNs(sec, nsec, { high: 0, low: 0 });
  return [w.high, w.low];
}

/** An ISB timestamp option value: high word then low word, as in the block itself (§4.6). */
export function tsValue(sec: number, nsec: number): Uint8Array {
  const w = splitNs(sec, nsec, { high: 0, low: 0 });
  const v = Buffer.alloc(8);
  v.writeUInt32LE(w.high, 0);
  v.writeUInt32LE(w.low, 4);
  return v;
}

export function u64Value(n: number): Uint8Array {
  const v = Buffer.alloc(8);
  v.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(n))));
  return v;
}

/** A UTF-8 option value, cut (at a character boundary) to the 65535 bytes an option can hold. */
export function optionText(s: string): Uint8Array {
  const v = enc.encode(s);
  if (v.length <= MAX_OPTION_BYTES) return v;
  let n = MAX_OPTION_BYTES;
  while (n > 0 && (v[n] & 0xc0) === 0x80) n--; // back to the first byte of a UTF-8 sequence
  return v.subarray(0, n);
}

export function optionsLength(opts: [number, Uint8Array][]): number {
  let n = 0;
  for (const [, v] of opts) n += 4 + ((v.length + 3) & ~3);
  return n + 4; // opt_endofopt
}

export function writeOptions(b: Buffer, at: number, opts: [number, Uint8Array][]): number {
  for (const [code, v] of opts) {
    b.writeUInt16LE(code, at);
    b.writeUInt16LE(v.length, at + 2);
    b.set(v, at + 4);
    const padded = (v.length + 3) & ~3;
    b.fill(0, at + 4 + v.length, at + 4 + padded);
    at += 4 + padded;
  }
  b.writeUInt16LE(OPT_ENDOFOPT, at);
  b.writeUInt16LE(0, at + 2);
  return at + 4;
}
