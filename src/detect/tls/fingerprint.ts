/**
 * TLS client/server fingerprints computed from parsed hellos: JA3 and JA3S (salesforce/ja3, as
 * tshark 4.0 computes them) and JA4 (FoxIO-LLC/ja4, technical_details/JA4.md; BSD-3-Clause).
 * Only JA4 of the JA4+ family is implemented: the others are under the FoxIO License.
 *
 * Pure functions over the hello records hello.ts produces; no parsing here.
 */
import { createHash } from "node:crypto";
import { type ParsedClientHello, type ParsedServerHello, isGrease, isGreaseAlpn } from "./messages.js";


function md5(s: string): string {
  return createHash("md5").update(s).digest("hex");
}

function sha256_12(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 12);
}

function decimalList(values: readonly number[]): string {
  let s = "";
  for (const v of values) {
    if (isGrease(v)) continue;
    s += s.length === 0 ? String(v) : "-" + v;
  }
  return s;
}

/**
 * JA3 (salesforce/ja3 README): decimal
 * `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, lists joined with "-",
 * GREASE values left out (as tshark 4.0 does), empty lists as empty fields; hash = MD5 of that
 * string. SSLVersion is the ClientHello's legacy_version field, not supported_versions.
 */
export function ja3(hello: ParsedClientHello): { full: string; hash: string } {
  const full =
    hello.legacyVersion +
    "," +
    decimalList(hello.ciphers) +
    "," +
    decimalList(hello.extensions) +
    "," +
    decimalList(hello.supportedGroups) +
    "," +
    hello.ecPointFormats.join("-");
  return { full, hash: md5(full) };
}

/**
 * JA3S: `SSLVersion,Cipher,Extensions` of the ServerHello (legacy version field, decimal; GREASE
 * extensions left out), MD5-hashed. tshark 4.0 keeps the trailing comma when there are no
 * extensions ("769,57,").
 */
export function ja3s(hello: ParsedServerHello): { full: string; hash: string } {
  const full = hello.legacyVersion + "," + (hello.cipher ?? "") + "," + decimalList(hello.extensions);
  return { full, hash: md5(full) };
}

const JA4_VERSIONS: ReadonlyMap<number, string> = new Map([
  [0x0304, "13"],
  [0x0303, "12"],
  [0x0302, "11"],
  [0x0301, "10"],
  [0x0300, "s3"],
  [0x0002, "s2"],
  [0xfeff, "d1"],
  [0xfefd, "d2"],
  [0xfefc, "d3"],
]);

function hex4(v: number): string {
  return v.toString(16).padStart(4, "0");
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * JA4 "ALPN Extension Value": first and last character of the first ALPN value; "00" when there is
 * none or it is empty; when its first or last byte is not ASCII alphanumeric, the first and last
 * character of the value's hex representation instead (0xAB 0xCD → "ad").
 */
function ja4Alpn(alpn: readonly Uint8Array[]): string {
  let first: Uint8Array | undefined;
  for (const p of alpn) {
    if (isGreaseAlpn(p)) continue;
    first = p;
    break;
  }
  if (first === undefined || first.length === 0) return "00";
  const a = first[0];
  const b = first[first.length - 1];
  if (isAlnum(a) && isAlnum(b)) return String.fromCharCode(a, b);
  return (a >> 4).toString(16) + (b & 0x0f).toString(16);
}

function twoDigits(n: number): string {
  return n > 99 ? "99" : n < 10 ? "0" + n : String(n);
}

interface Ja4Parts {
  a: string;
  ciphers: string[];
  extensions: string[];
  sigalgs: string[];
}

function ja4Parts(hello: ParsedClientHello, transport: "t" | "q" | "d"): Ja4Parts {
  const ciphers: string[] = [];
  for (const c of hello.ciphers) if (!isGrease(c)) ciphers.push(hex4(c));
  const extensions: string[] = [];
  let sni = false;
  for (const e of hello.extensions) {
    if (isGrease(e)) continue;
    if (e === 0x0000) sni = true;
    extensions.push(hex4(e));
  }
  const sigalgs: string[] = [];
  for (const s of hello.signatureAlgorithms) if (!isGrease(s)) sigalgs.push(hex4(s));
  // JA4 "TLS and DTLS Version": highest supported_versions value without GREASE, else the
  // ClientHello's version field; the record-layer version is ignored.
  let version = -1;
  for (const v of hello.supportedVersions) if (!isGrease(v) && v > version) version = v;
  if (version < 0) version = hello.legacyVersion;
  const a =
    transport +
    (JA4_VERSIONS.get(version) ?? "00") +
    (sni ? "d" : "i") +
    twoDigits(ciphers.length) +
    twoDigits(extensions.length) +
    ja4Alpn(hello.alpn);
  return { a, ciphers, extensions, sigalgs };
}

function ja4c(extensions: string[], sigalgs: string[]): string {
  return sigalgs.length === 0 ? extensions.join(",") : extensions.join(",") + "_" + sigalgs.join(",");
}

/** The four JA4 forms of FoxIO's tool: ja4 (hashed, sorted), ja4_r (raw sorted), ja4_o / ja4_ro (original order). */
export function ja4Variants(
  hello: ParsedClientHello,
  transport: "t" | "q" | "d",
): { ja4: string; ja4_r: string; ja4_o: string; ja4_ro: string } {
  const p = ja4Parts(hello, transport);
  // Sorted form: ciphers and extensions sorted by hex value; SNI (0000) and ALPN (0010) left out of
  // the extension list because part a already says whether they are there.
  const sortedCiphers = [...p.ciphers].sort();
  const sortedExt = p.extensions.filter((e) => e !== "0000" && e !== "0010").sort();
  const cR = ja4c(sortedExt, p.sigalgs);
  const cO = ja4c(p.extensions, p.sigalgs);
  const b = sortedCiphers.length === 0 ? "000000000000" : sha256_12(sortedCiphers.join(","));
  const c = sortedExt.length === 0 ? "000000000000" : sha256_12(cR);
  const bO = p.ciphers.length === 0 ? "000000000000" : sha256_12(p.ciphers.join(","));
  // FoxIO's tools zero part c of ja4_o too when the sorted list (without SNI/ALPN) is empty, even
  // though the original-order list still holds SNI (checked against their published outputs).
  const cOh = sortedExt.length === 0 ? "000000000000" : sha256_12(cO);
  return {
    ja4: `${p.a}_${b}_${c}`,
    ja4_r: `${p.a}_${sortedCiphers.join(",")}_${cR}`,
    ja4_o: `${p.a}_${bO}_${cOh}`,
    ja4_ro: `${p.a}_${p.ciphers.join(",")}_${cO}`,
  };
}

/** JA4 (FoxIO technical_details/JA4.md): "t" TLS over TCP, "q" QUIC, "d" DTLS. */
export function ja4(hello: ParsedClientHello, transport: "t" | "q" | "d"): string {
  return ja4Variants(hello, transport).ja4;
}
