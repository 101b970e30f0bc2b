/**
 * Test-only byte builders for TLS messages and DER certificates. Each helper writes exactly the
 * wire layout named in its comment; the tests compose them field by field.
 */
import { createHash, generateKeyPairSync, sign } from "node:crypto";
export { rng as prng } from "../support/random.js";

export function bytes(...parts: (number | number[] | Uint8Array)[]): Uint8Array {
  const flat: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") flat.push(p);
    else for (const x of p) flat.push(x);
  }
  return Uint8Array.from(flat);
}

export function u16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

export function u24(v: number): number[] {
  return [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
}

export function ascii(s: string): number[] {
  return [...Buffer.from(s, "latin1")];
}

/** opaque<0..2^8-1>: 1-byte length then the bytes. */
export function vec8(...parts: (number | number[] | Uint8Array)[]): Uint8Array {
  const b = bytes(...parts);
  return bytes(b.length, b);
}

/** opaque<0..2^16-1>: 2-byte length then the bytes. */
export function vec16(...parts: (number | number[] | Uint8Array)[]): Uint8Array {
  const b = bytes(...parts);
  return bytes(u16(b.length), b);
}

/** opaque<0..2^24-1>: 3-byte length then the bytes. */
export function vec24(...parts: (number | number[] | Uint8Array)[]): Uint8Array {
  const b = bytes(...parts);
  return bytes(u24(b.length), b);
}

/** A list of uint16 values, each as 2 bytes. */
export function u16s(values: number[]): number[] {
  return values.flatMap(u16);
}

/** Extension (RFC 8446 §4.2): extension_type(2) extension_data<0..2^16-1>. */
export function ext(type: number, ...data: (number | number[] | Uint8Array)[]): Uint8Array {
  return bytes(u16(type), vec16(...data));
}

/** Handshake (RFC 8446 §4): msg_type(1) length(3) body. */
export function handshake(type: number, body: Uint8Array): Uint8Array {
  return bytes(type, u24(body.length), body);
}

/** TLSPlaintext (RFC 8446 §5.1): type(1) legacy_record_version(2) length(2) fragment. */
export function record(contentType: number, version: number, fragment: Uint8Array): Uint8Array {
  return bytes(contentType, u16(version), u16(fragment.length), fragment);
}

/** Splits `fragment` over several records of at most `max` bytes each (RFC 8446 §5.1 fragmentation). */
export function records(contentType: number, version: number, fragment: Uint8Array, max: number): Uint8Array {
  const out: Uint8Array[] = [];
  for (let i = 0; i < fragment.length; i += max) out.push(record(contentType, version, fragment.subarray(i, i + max)));
  return bytes(...out);
}

export const CT = { ccs: 20, alert: 21, handshake: 22, appData: 23 } as const;
export const HT = { clientHello: 1, serverHello: 2, certificate: 11, serverKeyExchange: 12, serverHelloDone: 14, clientKeyExchange: 16 } as const;

/** 32 bytes of a fixed, recognisable random. */
export function random32(fill = 0x11): number[] {
  return new Array(32).fill(fill);
}

/** RFC 8446 §4.1.3: the HelloRetryRequest random is SHA-256 of the ASCII string "HelloRetryRequest". */
export function hrrRandom(): number[] {
  return [...createHash("sha256").update("HelloRetryRequest").digest()];
}

/** ChangeCipherSpec record (RFC 5246 §7.1): one byte, value 1. */
export function ccs(version = 0x0303): Uint8Array {
  return record(CT.ccs, version, bytes(1));
}

/** Alert record (RFC 5246 §7.2): level(1) description(1). */
export function alert(level: number, description: number, version = 0x0303): Uint8Array {
  return record(CT.alert, version, bytes(level, description));
}

// ---- DER (X.690) for a small X.509 v3 certificate (RFC 5280 §4.1) ----

function derLen(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, (n >> 8) & 0xff, n & 0xff];
}

export function tlv(tag: number, ...content: (number | number[] | Uint8Array)[]): Uint8Array {
  const c = bytes(...content);
  return bytes(tag, derLen(c.length), c);
}

const seq = (...c: (number | number[] | Uint8Array)[]) => tlv(0x30, ...c);
const set = (...c: (number | number[] | Uint8Array)[]) => tlv(0x31, ...c);

function oid(dotted: string): Uint8Array {
  const parts = dotted.split(".").map(Number);
  const out = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const tmp: number[] = [];
    let v = p;
    tmp.unshift(v & 0x7f);
    while ((v >>= 7) > 0) tmp.unshift((v & 0x7f) | 0x80);
    out.push(...tmp);
  }
  return tlv(0x06, out);
}

/** Name (RFC 5280 §4.1.2.4): SEQUENCE OF RDN, each a SET of one AttributeTypeAndValue. */
function name(attrs: [string, string][]): Uint8Array {
  const oids: Record<string, string> = { C: "2.5.4.6", O: "2.5.4.10", CN: "2.5.4.3" };
  // PrintableString (0x13) for C, UTF8String (0x0c) for the others.
  return seq(...attrs.map(([k, v]) => set(seq(oid(oids[k]), tlv(k === "C" ? 0x13 : 0x0c, ascii(v))))));
}

export interface TestCert {
  der: Uint8Array;
}

/**
 * A self-signed ECDSA P-256 X.509 v3 certificate, built field by field and signed with a fresh key:
 * subject = issuer = C=US, O=Example Org, CN=test.example; validity 2024-01-02T03:04:05Z (UTCTime)
 * to 2051-01-01T00:00:00Z (GeneralizedTime, RFC 5280 §4.1.2.5 for years ≥ 2050);
 * subjectAltName dNSName test.example, dNSName www.test.example, iPAddress 192.0.2.1 and 2001:db8::1.
 */
export function makeTestCertificate(): Uint8Array {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const ecdsaWithSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const subject = name([
    ["C", "US"],
    ["O", "Example Org"],
    ["CN", "test.example"],
  ]);
  const san = seq(
    tlv(0x82, ascii("test.example")), // [2] dNSName
    tlv(0x82, ascii("www.test.example")), // [2] dNSName
    tlv(0x87, [192, 0, 2, 1]), // [7] iPAddress, IPv4
    tlv(0x87, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), // [7] iPAddress, IPv6
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, [2])), // [0] EXPLICIT version v3 (2)
    tlv(0x02, [0x01, 0x23]), // serialNumber 0x0123
    ecdsaWithSha256, // signature AlgorithmIdentifier
    subject, // issuer (self-signed)
    seq(tlv(0x17, ascii("240102030405Z")), tlv(0x18, ascii("20510101000000Z"))), // validity: UTCTime, GeneralizedTime
    subject, // subject
    spki, // subjectPublicKeyInfo
    tlv(0xa3, seq(seq(oid("2.5.29.17"), tlv(0x04, san)))), // [3] EXPLICIT extensions: subjectAltName
  );
  const signature = sign("sha256", tbs, privateKey);
  return seq(tbs, ecdsaWithSha256, tlv(0x03, 0x00, signature)); // signatureValue BIT STRING, 0 unused bits
}

