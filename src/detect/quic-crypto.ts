/**
 * QUIC Initial packet protection, the part an observer can undo: Initial keys are derived from
 * the client's Destination Connection ID and a salt published per version, so anyone on the path
 * can read the Initial packets (RFC 9001 §5.2, §7 "Initial packets … are not protected against
 * observers"). Only `node:crypto` is used.
 *
 *   initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id)         RFC 9001 §5.2
 *   client_initial_secret = HKDF-Expand-Label(initial_secret, "client in", "", 32)
 *   server_initial_secret = HKDF-Expand-Label(initial_secret, "server in", "", 32)
 *   key = HKDF-Expand-Label(secret, "quic key", "", 16), iv ("quic iv", 12), hp ("quic hp", 16)
 *   (RFC 9369 §3.3: version 2 has its own salt and the labels "quicv2 key/iv/hp")
 *
 * Payload protection is AEAD_AES_128_GCM with nonce = iv XOR packet number (§5.3); header
 * protection XORs the first byte's low bits and the packet number with AES-ECB(hp, sample),
 * the sample being the 16 bytes that start 4 bytes after the packet number field (§5.4.2).
 */
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";

/** The QUIC versions whose Initial packets we can open. */
export interface QuicVersionInfo {
  /** Name in the report: "1", "2", "draft-29". */
  name: string;
  salt: Uint8Array;
  /** HKDF label prefix for key/iv/hp: "quic " (v1, drafts) or "quicv2 " (RFC 9369 §3.3.2). */
  labelPrefix: string;
  /** Long header packet type of Initial: 0 in v1 (RFC 9000 §17.2), 1 in v2 (RFC 9369 §3.2). */
  initialType: number;
  /** Long header packet type of Retry: 3 in v1, 0 in v2. */
  retryType: number;
}

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, "hex"));
}

const V1: QuicVersionInfo = { name: "1", salt: hex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), labelPrefix: "quic ", initialType: 0, retryType: 3 };
const V2: QuicVersionInfo = { name: "2", salt: hex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), labelPrefix: "quicv2 ", initialType: 1, retryType: 0 };
/** draft-ietf-quic-tls-29 §5.2 salt, used by drafts 29–32 (still sent by some stacks as 0xff00001d…). */
const DRAFT29_SALT = hex("afbfec289993d24c9e9786f19c6111e04390a899");

/** Version info for a QUIC version number, or null when its Initial protection is not known. */
export function quicVersionInfo(version: number): QuicVersionInfo | null {
  if (version === 0x00000001) return V1;
  if (version === 0x6b3343cf) return V2; // RFC 9369 §3.1
  if (version >= 0xff00001d && version <= 0xff000020) {
    return { name: `draft-${version & 0xff}`, salt: DRAFT29_SALT, labelPrefix: "quic ", initialType: 0, retryType: 3 };
  }
  return null;
}

/** HKDF-Extract with SHA-256 (RFC 5869 §2.2): PRK = HMAC-Hash(salt, IKM). */
function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Buffer {
  return createHmac("sha256", salt).update(ikm).digest();
}

/**
 * HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, for lengths ≤ 32 (one HMAC block):
 * HkdfLabel = uint16 length, opaque label<7..255> = "tls13 " + label, opaque context<0..255> = "".
 */
export function hkdfExpandLabel(secret: Uint8Array, label: string, length: number): Buffer {
  const full = Buffer.from("tls13 " + label, "latin1");
  const info = Buffer.alloc(2 + 1 + full.length + 1);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  full.copy(info, 3);
  info[3 + full.length] = 0;
  // RFC 5869 §2.3: T(1) = HMAC-Hash(PRK, info | 0x01); OKM = first L octets of T(1) when L ≤ HashLen.
  return createHmac("sha256", secret).update(info).update(Uint8Array.of(1)).digest().subarray(0, length);
}

/** The packet protection keys of one direction. */
export interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

/** Client and server Initial keys for a version and the client's first Destination Connection ID. */
export function initialKeys(v: QuicVersionInfo, dcid: Uint8Array): { client: InitialKeys; server: InitialKeys } {
  const initial = hkdfExtract(v.salt, dcid);
  const side = (label: string): InitialKeys => {
    const secret = hkdfExpandLabel(initial, label, 32);
    return {
      key: hkdfExpandLabel(secret, v.labelPrefix + "key", 16),
      iv: hkdfExpandLabel(secret, v.labelPrefix + "iv", 12),
      hp: hkdfExpandLabel(secret, v.labelPrefix + "hp", 16),
    };
  };
  return { client: side("client in"), server: side("server in") };
}

/** AES-ECB(hp, sample), the header protection mask (RFC 9001 §5.4.3); the first 5 bytes are used. */
export function headerMask(hp: Uint8Array, sample: Uint8Array): Buffer {
  const c = createCipheriv("aes-128-ecb", hp, null);
  c.setAutoPadding(false);
  return c.update(sample).subarray(0, 5);
}

/**
 * RFC 9000 §A.3: the full packet number closest to largest+1 whose low `bits` bits are `truncated`.
 * `largest` is -1 before any packet of the space was opened.
 */
export function decodePacketNumber(largest: number, truncated: number, bits: number): number {
  const expected = largest + 1;
  const win = 2 ** bits;
  const hwin = win / 2;
  // (expected & ~(win - 1)) | truncated, without JavaScript's 32-bit bitwise operators.
  const candidate = expected - (expected % win) + truncated;
  if (candidate <= expected - hwin && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}

/** What opening one long header packet gave. */
export interface OpenedPacket {
  packetNumber: number;
  /** The decrypted payload (frames). */
  payload: Buffer;
}

/**
 * Removes header protection and decrypts one long header Initial packet in place of a copy.
 * `pkt` is the whole packet (header through tag); `pnOffset` is where the packet number field
 * starts. Returns null when the packet is too short for a sample or the AEAD tag does not verify
 * (wrong keys, or bytes damaged or cut): authenticated plaintext or nothing.
 */
export function openLongHeaderPacket(pkt: Uint8Array, pnOffset: number, keys: InitialKeys, largest: number): OpenedPacket | null {
  // §5.4.2: sample_offset = pn_offset + 4; a packet too short for a 16-byte sample cannot be opened.
  if (pnOffset + 4 + 16 > pkt.length) return null;
  const mask = headerMask(keys.hp, pkt.subarray(pnOffset + 4, pnOffset + 20));
  const first = pkt[0] ^ (mask[0] & 0x0f); // §5.4.1: long header, 4 bits masked
  const pnLen = (first & 0x03) + 1;
  if (pnOffset + pnLen + 16 > pkt.length) return null;
  const header = Buffer.from(pkt.subarray(0, pnOffset + pnLen));
  header[0] = first;
  let truncated = 0;
  for (let i = 0; i < pnLen; i++) {
    header[pnOffset + i] ^= mask[1 + i];
    truncated = truncated * 256 + header[pnOffset + i];
  }
  const pn = decodePacketNumber(largest, truncated, pnLen * 8);
  // §5.3: the nonce is the IV XORed with the packet number, left-padded to the IV's 12 bytes.
  const nonce = Buffer.from(keys.iv);
  let x = pn;
  for (let i = 11; i >= 4 && x > 0; i--) {
    nonce[i] ^= x % 256;
    x = Math.floor(x / 256);
  }
  const body = pkt.subarray(pnOffset + pnLen, pkt.length - 16);
  const tag = pkt.subarray(pkt.length - 16);
  try {
    const d = createDecipheriv("aes-128-gcm", keys.key, nonce);
    d.setAAD(header);
    d.setAuthTag(tag);
    const out = Buffer.concat([d.update(body), d.final()]);
    return { packetNumber: pn, payload: out };
  } catch {
    return null; // the tag did not verify
  }
}
