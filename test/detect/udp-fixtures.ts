/**
 * UDP payloads for the QUIC and RDP-over-UDP tests, built byte by byte with a comment per field:
 * QUIC Initial packets (the RFC 9001 / RFC 9369 Appendix A examples, and client Initials protected
 * by a packet protector checked against RFC 9001 §A.3 in quic.test.ts) and MS-RDPEUDP datagrams.
 */
import { createCipheriv } from "node:crypto";
import { headerMask, initialKeys, quicVersionInfo, type InitialKeys } from "../../src/detect/quic-crypto.js";
import { bytes as sbytes, u16be, u32be, zeros } from "./sample.js";
import { ascii, bytes, ext, handshake, HT, random32, u16, u16s, vec16, vec8 } from "./tls-bytes.js";

// ---------------------------------------------------------------------------------------------
// QUIC
// ---------------------------------------------------------------------------------------------

export const h = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
export const hx = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** RFC 9001 §A: the client's Destination Connection ID of every example. */
export const DCID = h("8394c8f03e515708");
export const V1 = quicVersionInfo(1)!;
export const V2 = quicVersionInfo(0x6b3343cf)!;

/** RFC 9001 §A.3: the server Initial (ACK + CRYPTO with a ServerHello), packet number 1 in 2 bytes. */
export const A3_HEADER = h("c1000000010008f067a5502a4262b50040750001");
export const A3_PAYLOAD = h(
  "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf73988cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c940d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00020304",
);
export const A3_PACKET = h(
  "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee",
);
/** RFC 9369 §A.3: the same server Initial under QUIC version 2. */
export const V2_A3_PACKET = h(
  "dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca84bed8521e2e140",
);

/**
 * The test's packet protector (RFC 9001 §5.3, §5.4): AES-128-GCM over the payload with the header
 * as AAD and nonce = iv XOR packet number, then header protection with AES-ECB(hp, sample).
 */
export function protect(keys: InitialKeys, header: Uint8Array, pnOffset: number, pn: number, payload: Uint8Array): Uint8Array {
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < 4; i++) nonce[11 - i] ^= (pn >>> (8 * i)) & 0xff;
  const c = createCipheriv("aes-128-gcm", keys.key, nonce);
  c.setAAD(header);
  const sealed = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
  const pnLen = (header[0] & 0x03) + 1;
  const out = Buffer.concat([header, sealed]);
  const mask = headerMask(keys.hp, out.subarray(pnOffset + 4, pnOffset + 20));
  out[0] ^= mask[0] & 0x0f;
  for (let i = 0; i < pnLen; i++) out[pnOffset + i] ^= mask[1 + i];
  return Uint8Array.from(out);
}

/** QUIC variable-length integer (RFC 9000 §16), 1, 2 or 4 bytes. */
export function varint(v: number): number[] {
  if (v < 64) return [v];
  if (v < 16384) return [0x40 | (v >> 8), v & 0xff];
  return [0x80 | (v >>> 24), (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
}

/** CRYPTO frame (RFC 9000 §19.6): type 0x06, offset, length, data. */
export function cryptoFrame(offset: number, data: Uint8Array): Uint8Array {
  return bytes(0x06, varint(offset), varint(data.length), data);
}

/**
 * A client Initial (RFC 9000 §17.2.2) of version `v`: first byte 0xc0 | type<<4 | (pn length − 1),
 * version, DCID, SCID, empty token, Length (2-byte varint), 2-byte packet number, frames padded
 * with PADDING to `size` bytes of payload.
 */
export function clientInitial(v: number, dcid: Uint8Array, pn: number, frames: Uint8Array, size = 1162): Uint8Array {
  const info = quicVersionInfo(v)!;
  const payload = new Uint8Array(Math.max(size, frames.length));
  payload.set(frames); // the rest stays 0x00: PADDING frames
  const length = 2 + payload.length + 16; // packet number + payload + AEAD tag
  const header = bytes(
    0xc0 | (info.initialType << 4) | 0x01, // long header, fixed bit, Initial, 2-byte packet number
    [(v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff], // version
    dcid.length, dcid, // Destination Connection ID
    0x00, // Source Connection ID length 0
    0x00, // Token Length 0
    0x40 | (length >> 8), length & 0xff, // Length (2-byte varint)
    u16(pn), // Packet Number
  );
  return protect(initialKeys(info, dcid).client, header, header.length - 2, pn, payload);
}

/** A TLS 1.3 ClientHello handshake message as QUIC carries it (no record layer, RFC 9001 §4). */
export function quicClientHello(sni: string): Uint8Array {
  return handshake(
    HT.clientHello,
    bytes(
      u16(0x0303), // legacy_version
      random32(0x21), // random
      vec8(), // legacy_session_id: empty in QUIC (RFC 9001 §8.4)
      vec16(u16s([0x1301, 0x1302, 0x1303])), // cipher_suites
      vec8(0x00), // legacy_compression_methods: null
      vec16(
        ext(0x0000, vec16(0x00, vec16(ascii(sni)))), // server_name: host_name
        ext(0x000a, vec16(u16s([0x001d]))), // supported_groups: x25519
        ext(0x000d, vec16(u16s([0x0403, 0x0804]))), // signature_algorithms
        ext(0x0010, vec16(vec8(ascii("h3")))), // ALPN: h3
        ext(0x002b, vec8(u16s([0x0304]))), // supported_versions: TLS 1.3
        ext(0x0033, vec16(u16(0x001d), vec16(new Array(32).fill(0x33)))), // key_share: x25519
        ext(0x0039, bytes(0x01, 0x02, 0x67, 0x10)), // quic_transport_parameters: max_idle_timeout 10000
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// MS-RDPEUDP
// ---------------------------------------------------------------------------------------------

/** A datagram zero-padded to 1232 bytes, as SYN and SYN+ACK are (§3.1.5.1.1). */
export function padded(b: Uint8Array): Uint8Array {
  return sbytes(b, zeros(1232 - b.length));
}

export const CLIENT_ISN = 0x00000042;
export const CORRELATION = [0x4d, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0e, 0x0f, 0x10];

/** Client SYN (§3.1.5.1.1) offering protocol version `version`; `lossy` sets RDPUDP_FLAG_SYNLOSSY; `pad` false leaves out the zero padding (shorter property-test inputs). */
export function syn(version: number, lossy = false, pad = true): Uint8Array {
  return (pad ? padded : (b: Uint8Array) => b)(
    sbytes(
      u32be(0xffffffff), // RDPUDP_FEC_HEADER.snSourceAck: -1 in a SYN
      u16be(0x0040), // uReceiveWindowSize: 64
      u16be(0x0001 | 0x0800 | 0x1000 | (lossy ? 0x0200 : 0)), // uFlags: SYN | CORRELATION_ID | SYNEX [| SYNLOSSY]
      u32be(CLIENT_ISN), // RDPUDP_SYNDATA_PAYLOAD.snInitialSequenceNumber
      u16be(1232), // uUpStreamMtu
      u16be(1232), // uDownStreamMtu
      CORRELATION, // RDPUDP_CORRELATION_ID_PAYLOAD.uCorrelationId
      zeros(16), // uReserved
      u16be(0x0001), // RDPUDP_SYNDATAEX_PAYLOAD.uSynExFlags: RDPUDP_VERSION_INFO_VALID
      u16be(version), // uUdpVer
      version === 0x0101 ? zeros(32) : [], // cookieHash: only with RDPUDP_PROTOCOL_VERSION_3
    ),
  );
}

/** MS-RDPEUDP §4.1.2's SYN+ACK example, byte for byte: 00 00 00 42 04 00 00 05 00 00 00 42 04 D0 04 D0, zero padded. */
export const SPEC_SYN_ACK = padded(sbytes(0x00, 0x00, 0x00, 0x42, 0x04, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x42, 0x04, 0xd0, 0x04, 0xd0));

export const SERVER_ISN = 0x00001000;

/** Server SYN+ACK (§3.1.5.1.3) choosing `version` (RDPUDP_SYNDATAEX_PAYLOAD present). */
export function synAck(version: number, pad = true): Uint8Array {
  return (pad ? padded : (b: Uint8Array) => b)(
    sbytes(
      u32be(CLIENT_ISN), // snSourceAck: the client's snInitialSequenceNumber
      u16be(0x0040), // uReceiveWindowSize
      u16be(0x0001 | 0x0004 | 0x1000), // uFlags: SYN | ACK | SYNEX
      u32be(SERVER_ISN), // snInitialSequenceNumber
      u16be(1232), // uUpStreamMtu
      u16be(1232), // uDownStreamMtu
      u16be(0x0001), // uSynExFlags: RDPUDP_VERSION_INFO_VALID
      u16be(version), // uUdpVer: the highest both support
    ),
  );
}

/**
 * A data datagram (§3.1.5.2): FEC header with ACK | DATA, an RDPUDP_ACK_VECTOR_HEADER with one
 * AckVectorElement (2 + 1 bytes, 1 byte of padding to a DWORD), RDPUDP_SOURCE_PAYLOAD_HEADER, payload.
 */
export function data(ack: number, seq: number, payload: Uint8Array): Uint8Array {
  return sbytes(
    u32be(ack), // snSourceAck
    u16be(0x0040), // uReceiveWindowSize
    u16be(0x0004 | 0x0008), // uFlags: ACK | DATA
    u16be(1), // RDPUDP_ACK_VECTOR_HEADER.uAckVectorSize
    0x00, // AckVectorElement: state DATAGRAM_RECEIVED, run length 0
    0x00, // padding to a 4-byte boundary
    u32be(seq), // RDPUDP_SOURCE_PAYLOAD_HEADER.snCoded
    u32be(seq), // snSourceStart
    payload,
  );
}

