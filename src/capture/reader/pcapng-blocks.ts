/**
 * pcapng block types, the non-packet blocks Wireshark counts as frames, and an interface's
 * timestamp conversion (draft-ietf-opsawg-pcapng §4.1-§4.4, §4.2 if_tsresol / if_tsoffset), for
 * the reader in pcapng.ts.
 */
import { MAX_RECORD_BYTES } from "./queue.js";

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 0x00000001;
export const BLOCK_PB = 0x00000002;
export const BLOCK_SPB = 0x00000003;
export const BLOCK_EPB = 0x00000006;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Refuse larger blocks as corrupt: nothing real comes close, and we must not buffer without bound. */
export const MAX_BLOCK_BYTES = MAX_RECORD_BYTES;

/**
 * Non-packet block types that tshark 4.0 counts as frames (wiretap returns them as records:
 * REC_TYPE_CUSTOM_BLOCK, REC_TYPE_SYSTEMD_JOURNAL_EXPORT, REC_TYPE_SYSCALL).
 */
export function isCountedNonPacketBlock(type: number): boolean {
  switch (type) {
    case 0x00000bad: // Custom Block, may be copied (§4.8)
    case 0x40000bad: // Custom Block, should not be copied (§4.8)
    case 0x00000009: // systemd Journal Export Block
    case 0x00000204: // Sysdig Event Block
    case 0x00000208: // Sysdig Event Block with flags
    case 0x00000216: // Sysdig Event Block v2
    case 0x00000217: // Sysdig Event Block with flags v2
      return true;
    default:
      return false;
  }
}

/** One IDB of the current section, with its timestamp conversion prepared. */
export interface PcapngInterface {
  linkType: number;
  snaplen: number;
  /** if_tsresol raw byte (§4.2): bit 7 clear = 10^-n s, set = 2^-n s. Default 6. */
  tsresol: number;
  /** Timestamp units per second when it fits the exact fast path (<= 2^32), else 0. */
  units: number;
  /** Multiply the remainder by this to get nanoseconds (10^-n with n <= 9, or 2^-n with n <= 9); 0 if not usable. */
  nsMul: number;
  /** For 2^-n with 9 < n <= 32: nanoseconds = floor(rem * 1953125 / 2^(n-9)). */
  binDiv: number;
  /** Units per second as a BigInt for resolutions past the fast path, else null. */
  unitsBig: bigint | null;
  /** if_tsoffset: seconds added to every timestamp of this interface. */
  tsOffset: number;
}

export const TWO32 = 4294967296;
/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since the epoch. */
export const MIN_TS_SEC = -62135596800;
export const MAX_TS_SEC = 253402300799;

/**
 * Builds the timestamp conversion for an if_tsresol value, or returns an error message.
 * Exported for tests.
 */
export function makeIface(linkType: number, snaplen: number, tsresol: number, tsOffset: number): PcapngInterface | string {
  const binary = (tsresol & 0x80) !== 0;
  const n = tsresol & 0x7f;
  // Wireshark refuses 10^-n with n > 19 and 2^-n with n > 63: the units no longer fit 64 bits.
  if (!binary && n > 19) return `if_tsresol 10^-${n} is out of range (n must be <= 19)`;
  if (binary && n > 63) return `if_tsresol 2^-${n} is out of range (n must be <= 63)`;
  const ifc: PcapngInterface = { linkType, snaplen, tsresol, units: 0, nsMul: 0, binDiv: 0, unitsBig: null, tsOffset };
  if (!binary && n <= 9) {
    ifc.units = 10 ** n;
    ifc.nsMul = 10 ** (9 - n);
  } else if (binary && n <= 32) {
    ifc.units = 2 ** n;
    // 10^9 = 2^9 * 1953125, so 2^-n divides 10^9 exactly for n <= 9.
    if (n <= 9) ifc.nsMul = 1e9 / 2 ** n;
    else ifc.binDiv = 2 ** (n - 9);
  } else {
    ifc.unitsBig = binary ? 1n << BigInt(n) : 10n ** BigInt(n);
  }
  return ifc;
}

/**
 * Splits a 64-bit timestamp (high and low 32-bit words, §4.3) counted in the interface's units
 * into whole seconds and nanoseconds, exactly, writing them to `out`.
 *
 * Fast path (units <= 2^32, i.e. 10^-0..10^-9 and 2^-0..2^-32): long division of the 64-bit
 * value by the units in 16-bit steps; every intermediate stays below 2^48 so doubles are exact,
 * and `%` on integral doubles is exact. Past that, BigInt.
 */
export function splitTimestamp(high: number, low: number, ifc: PcapngInterface, out: { tsSec: number; tsNsec: number }): void {
  const U = ifc.units;
  if (U !== 0) {
    const rh = high % U;
    const qh = (high - rh) / U;
    let cur = rh * 65536 + (low >>> 16);
    const r1 = cur % U;
    const q1 = (cur - r1) / U;
    cur = r1 * 65536 + (low & 0xffff);
    const r = cur % U;
    const q0 = (cur - r) / U;
    // Exact while the seconds stay below 2^53 (any date before the year 285 million).
    out.tsSec = qh * TWO32 + q1 * 65536 + q0 + ifc.tsOffset;
    if (ifc.nsMul !== 0) out.tsNsec = r * ifc.nsMul;
    else {
      // r < 2^32, so r * 1953125 < 2^53; dividing by a power of two is exact, floor truncates.
      out.tsNsec = Math.floor((r * 1953125) / ifc.binDiv);
    }
    return;
  }
  const ub = ifc.unitsBig as bigint;
  const t = (BigInt(high) << 32n) | BigInt(low);
  out.tsSec = Number(t / ub) + ifc.tsOffset;
  out.tsNsec = Number(((t % ub) * 1000000000n) / ub);
}
