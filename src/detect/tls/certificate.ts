/**
 * X.509 facts of the certificates a TLS server sends in clear (TLS ≤ 1.2 Certificate, RFC 5246
 * §7.4.2; SSL 2.0 SERVER-HELLO), read with `node:crypto`'s X509Certificate (no dependency):
 * subject, issuer, validity, SAN, key type and size, signature algorithm, self-signed, SHA-256
 * fingerprint, and whether the chain leads to a root of Node's `tls.rootCertificates` (the Mozilla
 * store Node ships). Nothing here judges a certificate: the policy does, from these facts.
 *
 * A capture shows the same few server chains over and over, and parsing and verifying one costs
 * milliseconds, so results are kept in a CertificateCache that the analysis owns and hands to the
 * detectors through the StreamSample (ARCHITECTURE-REVIEW §6: no module-global caches of input).
 * The only module state is the root store, built once from Node's constant list (not input: the
 * same for every analysis, and parsing it per call would cost more than the analysis).
 */
import { createHash, X509Certificate } from "node:crypto";
import { rootCertificates } from "node:tls";
import { Cursor } from "../../bytes/cursor.js";
import type { Anomaly, CertificateFacts, ChainCertificate, Direction } from "../types.js";
import { Sink } from "./messages.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** OpenSSL's "Mar  6 00:00:00 2019 GMT" (what X509Certificate.validFrom gives) → ISO 8601 UTC. */
export function opensslTimeToIso(s: string): string | null {
  const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/.exec(s);
  if (m === null) return null;
  const month = MONTHS.indexOf(m[1]);
  if (month < 0) return null;
  const t = Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

/** OpenSSL prints IPv6 SANs as 8 upper-case groups; the report uses RFC 5952 (lower case, :: for the longest zero run). */
function ipv6ToRfc5952(s: string): string {
  const parts = s.split(":");
  if (parts.length !== 8 || parts.some((x) => !/^[0-9A-Fa-f]{1,4}$/.test(x))) return s.toLowerCase();
  const g = parts.map((x) => parseInt(x, 16));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestLen < 2) return hex.join(":");
  return hex.slice(0, bestStart).join(":") + "::" + hex.slice(bestStart + bestLen).join(":");
}

/** Parses Node's subjectAltName string ("DNS:a, IP Address:1.2.3.4", values JSON-quoted when they contain separators). */
function sanEntries(alt: string | undefined): string[] {
  const out: string[] = [];
  if (!alt) return out;
  const re = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(alt)) !== null && out.length < 1000) {
    let value = m[2];
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        value = value.slice(1, -1);
      }
    }
    if (m[1] === "DNS") out.push(value);
    else if (m[1] === "IP Address") out.push(value.includes(":") ? ipv6ToRfc5952(value) : value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// signatureAlgorithm (RFC 5280 §4.1.1.2): X509Certificate does not expose it, so the outer DER is
// walked: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE { OID, … }, … }
// ---------------------------------------------------------------------------------------------

/** OpenSSL's names for the signature algorithm OIDs in use (RFC 3279, 4055, 5758, 8410). */
const SIGNATURE_ALGORITHMS = new Map<string, string>([
  ["1.2.840.113549.1.1.2", "md2WithRSAEncryption"],
  ["1.2.840.113549.1.1.4", "md5WithRSAEncryption"],
  ["1.2.840.113549.1.1.5", "sha1WithRSAEncryption"],
  ["1.2.840.113549.1.1.10", "rsassaPss"],
  ["1.2.840.113549.1.1.11", "sha256WithRSAEncryption"],
  ["1.2.840.113549.1.1.12", "sha384WithRSAEncryption"],
  ["1.2.840.113549.1.1.13", "sha512WithRSAEncryption"],
  ["1.2.840.113549.1.1.14", "sha224WithRSAEncryption"],
  ["1.2.840.10045.4.1", "ecdsa-with-SHA1"],
  ["1.2.840.10045.4.3.1", "ecdsa-with-SHA224"],
  ["1.2.840.10045.4.3.2", "ecdsa-with-SHA256"],
  ["1.2.840.10045.4.3.3", "ecdsa-with-SHA384"],
  ["1.2.840.10045.4.3.4", "ecdsa-with-SHA512"],
  ["1.2.840.10040.4.3", "dsaWithSHA1"],
  ["2.16.840.1.101.3.4.3.2", "dsa_with_SHA256"],
  ["1.3.14.3.2.29", "sha1WithRSA"],
  ["1.3.101.112", "ED25519"],
  ["1.3.101.113", "ED448"],
]);

/** Signature algorithms whose hash is SHA-1, MD5 or MD2 (collisions are practical). */
const WEAK_SIGNATURES = new Set(["md2WithRSAEncryption", "md5WithRSAEncryption", "sha1WithRSAEncryption", "ecdsa-with-SHA1", "dsaWithSHA1", "sha1WithRSA"]);

/**
 * One DER TLV at the cursor (X.690 §8.1.2-8.1.3: a one-byte identifier, then the length in short
 * form or long form of 1–4 bytes; indefinite length is not DER): points `into` at the contents,
 * moves past them and returns the tag; -1 when it does not fit.
 */
function readTlv(c: Cursor, into: Cursor): number {
  const tag = c.u8();
  let len = c.u8();
  if (len < 0) return -1;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) return -1;
    len = c.uint(n as 1 | 2 | 3 | 4);
    if (len < 0) return -1;
  }
  return c.sub(len, into) ? tag : -1;
}

/** The certificate's signatureAlgorithm OID in dotted form, or null when the DER does not have one where RFC 5280 puts it. */
export function signatureAlgorithmOid(der: Uint8Array): string | null {
  const cert = new Cursor();
  const tbs = new Cursor();
  const alg = new Cursor();
  const oid = new Cursor();
  if (readTlv(new Cursor(der), cert) !== 0x30) return null;
  if (readTlv(cert, tbs) !== 0x30) return null; // tbsCertificate; `cert` is now at signatureAlgorithm
  if (readTlv(cert, alg) !== 0x30) return null;
  if (readTlv(alg, oid) !== 0x06 || oid.left === 0) return null;
  // X.690 §8.19: first byte 40·X + Y, then base-128 arcs with the high bit as continuation.
  const arcs: number[] = [];
  let v = 0;
  while (oid.left > 0) {
    const x = oid.u8();
    v = v * 128 + (x & 0x7f);
    if ((x & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
}

// ---------------------------------------------------------------------------------------------
// One certificate
// ---------------------------------------------------------------------------------------------

/** Bits of the EC named curves in use (Node reports the curve's OpenSSL name). */
const CURVE_BITS = new Map<string, number>([
  ["prime256v1", 256],
  ["secp256k1", 256],
  ["secp384r1", 384],
  ["secp521r1", 521],
  ["secp224r1", 224],
  ["prime192v1", 192],
  ["brainpoolP256r1", 256],
  ["brainpoolP384r1", 384],
  ["brainpoolP512r1", 512],
]);

function oneLine(dn: string): string {
  return dn.split("\n").join(", ");
}

/** Leaf-style facts (subject, issuer, validity, SAN) of a parsed certificate. */
function basicFacts(x: X509Certificate, chainLength: number): CertificateFacts {
  return {
    subject: oneLine(x.subject),
    issuer: oneLine(x.issuer),
    notBefore: opensslTimeToIso(x.validFrom) ?? x.validFrom,
    notAfter: opensslTimeToIso(x.validTo) ?? x.validTo,
    san: sanEntries(x.subjectAltName),
    chainLength,
  };
}

function verifies(x: X509Certificate, by: X509Certificate): boolean {
  try {
    return x.verify(by.publicKey);
  } catch {
    return false; // a key type OpenSSL cannot verify with, or a damaged signature
  }
}

/** Every fact of one certificate for `tls.chain`. */
function chainEntry(x: X509Certificate, der: Uint8Array): ChainCertificate {
  const b = basicFacts(x, 0);
  let keyType: string | null = null;
  let keyBits: number | null = null;
  let curve: string | null = null;
  try {
    const k = x.publicKey;
    keyType = k.asymmetricKeyType ?? null;
    const d = k.asymmetricKeyDetails;
    if (d?.modulusLength !== undefined) keyBits = d.modulusLength;
    if (d?.namedCurve !== undefined) {
      curve = d.namedCurve;
      keyBits = CURVE_BITS.get(d.namedCurve) ?? null;
    }
    if (keyType === "ed25519") keyBits = 256;
    if (keyType === "ed448") keyBits = 448;
  } catch {
    // a public key OpenSSL does not load (e.g. an unknown algorithm): type and size stay null
  }
  const oid = signatureAlgorithmOid(der);
  const sig = oid === null ? null : (SIGNATURE_ALGORITHMS.get(oid) ?? oid);
  return {
    subject: b.subject,
    issuer: b.issuer,
    notBefore: b.notBefore,
    notAfter: b.notAfter,
    san: b.san,
    keyType,
    keyBits,
    curve,
    signatureAlgorithm: sig,
    weakSignatureHash: sig !== null && WEAK_SIGNATURES.has(sig),
    selfSigned: x.subject === x.issuer && verifies(x, x),
    sha256: x.fingerprint256.replace(/:/g, "").toLowerCase(),
  };
}

// ---------------------------------------------------------------------------------------------
// The chain
// ---------------------------------------------------------------------------------------------

/** Node's root store by subject (built on first use; tls.rootCertificates is a constant list). */
let rootsBySubject: Map<string, X509Certificate[]> | null = null;

function roots(): Map<string, X509Certificate[]> {
  if (rootsBySubject === null) {
    const m = new Map<string, X509Certificate[]>();
    for (const pem of rootCertificates) {
      try {
        const r = new X509Certificate(pem);
        const list = m.get(r.subject);
        if (list === undefined) m.set(r.subject, [r]);
        else list.push(r);
      } catch {
        // Node's own list always parses; skip anything that does not
      }
    }
    rootsBySubject = m;
  }
  return rootsBySubject;
}

/** The organisations (O=) of the store's roots, lower-cased (built on first use, from roots()). */
let rootOrganisations: Set<string> | null = null;

/** Does a root of Node's store carry this organisation ("Amazon", "DigiCert Inc"; case-insensitive)? */
export function isPublicRootOrganisation(org: string): boolean {
  if (rootOrganisations === null) {
    const orgs = new Set<string>();
    for (const subject of roots().keys()) {
      const o = /^O=(.+)$/m.exec(subject);
      if (o) orgs.add(o[1].trim().toLowerCase());
    }
    rootOrganisations = orgs;
  }
  return rootOrganisations.has(org.trim().toLowerCase());
}

function issuedByRoot(x: X509Certificate): boolean {
  for (const r of roots().get(x.issuer) ?? []) {
    if (r.fingerprint256 === x.fingerprint256) return true; // the server sent the root itself
    if (x.checkIssued(r) && verifies(x, r)) return true;
  }
  return false;
}

/**
 * Does the chain, from its leaf (xs[0]), lead to a public root? Each step goes to a certificate
 * the server sent that issued the current one (names match and the signature verifies), until a
 * root of the store issued it. Order of the sent certificates does not matter (RFC 8446 §4.4.2
 * lets servers send them in any order after the leaf); each is used at most once.
 */
export function chainsToPublicRoot(xs: readonly X509Certificate[]): boolean {
  if (xs.length === 0) return false;
  const used = new Set<number>([0]);
  let cur = xs[0];
  for (let step = 0; step < xs.length; step++) {
    if (issuedByRoot(cur)) return true;
    let next = -1;
    for (let j = 0; j < xs.length && next < 0; j++) {
      if (!used.has(j) && cur.checkIssued(xs[j]) && verifies(cur, xs[j])) next = j;
    }
    if (next < 0) return false;
    used.add(next);
    cur = xs[next];
  }
  return false;
}

/** What the certificates of one Certificate message give. */
export interface ReadChain {
  /** The leaf's facts, or OpenSSL's reason when the leaf does not parse; null for an empty list. */
  leaf: CertificateFacts | string | null;
  /** Every certificate that parses, in the order sent. */
  chain: ChainCertificate[];
  /** null when the leaf does not parse (nothing to walk from). */
  chainsToPublicRoot: boolean | null;
}

/** One parsed certificate, or OpenSSL's reason it does not parse. */
type Parsed = { x: X509Certificate; entry: ChainCertificate } | string;

function parse(der: Uint8Array): Parsed {
  try {
    const x = new X509Certificate(der);
    return { x, entry: chainEntry(x, der) };
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Parsed certificates and chain verdicts of one analysis, keyed by the DER's SHA-256 (and by the
 * chain's fingerprints), the last `capacity` of each kept. Owned by the analysis that creates it.
 */
export class CertificateCache {
  private readonly certs = new Map<string, Parsed>();
  private readonly chains = new Map<string, boolean>();
  constructor(readonly capacity = 256) {}

  /** The value kept under `key`, or `make()`'s, kept in place of the oldest once `capacity` are. */
  private kept<V>(m: Map<string, V>, key: string, make: () => V): V {
    let v = m.get(key);
    if (v === undefined) {
      v = make();
      if (m.size >= this.capacity) m.delete(m.keys().next().value as string);
      m.set(key, v);
    }
    return v;
  }

  certificate(der: Uint8Array): Parsed {
    // Keyed by the DER's SHA-256: hashing 1–2 KB is cheaper than a Map lookup on a string that long.
    return this.kept(this.certs, createHash("sha256").update(der).digest("base64"), () => parse(der));
  }

  chainsToPublicRoot(xs: readonly X509Certificate[], entries: readonly ChainCertificate[]): boolean {
    return this.kept(this.chains, entries.map((e) => e.sha256).join(","), () => chainsToPublicRoot(xs));
  }
}

/**
 * Reads the DER certificates of a Certificate message (leaf first). `chainLength` is how many
 * were sent whole. With a cache, certificates and chains seen before are not parsed again.
 */
export function readChain(ders: readonly Uint8Array[], chainLength: number, cache?: CertificateCache): ReadChain {
  const xs: X509Certificate[] = [];
  const chain: ChainCertificate[] = [];
  let leaf: CertificateFacts | string | null = null;
  ders.forEach((der, i) => {
    const p = cache !== undefined ? cache.certificate(der) : parse(der);
    if (typeof p === "string") {
      if (i === 0) leaf = p;
      return;
    }
    if (i === 0) leaf = basicFacts(p.x, chainLength);
    xs.push(p.x);
    chain.push({ ...p.entry, san: [...p.entry.san] }); // a copy: the report may be changed (redaction) after
  });
  // The leaf must be the first certificate for the walk to mean anything.
  const leafParsed = typeof leaf !== "string" && leaf !== null;
  const toRoot = !leafParsed ? null : cache !== undefined ? cache.chainsToPublicRoot(xs, chain) : chainsToPublicRoot(xs);
  return { leaf, chain, chainsToPublicRoot: toRoot };
}

// ---------------------------------------------------------------------------------------------
// Certificates (RFC 5246 §7.4.2): certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>.
// ---------------------------------------------------------------------------------------------

/** Subject/issuer/validity/SAN of one DER certificate; null (and a tls_certificate_unparseable anomaly) when it does not parse. */
export function certificateFacts(der: Uint8Array, chainLength: number, anomalies?: Anomaly[]): CertificateFacts | null {
  return readCertificates([der], chainLength, anomalies ? new Sink(anomalies) : null, "server", 0).leaf;
}

/** The leaf's facts and the chain of the DER certificates sent (leaf first); an unparseable leaf is an anomaly. */
export function readCertificates(ders: Uint8Array[], chainLength: number, sink: Sink | null, dir: Direction, offset: number, cache?: CertificateCache): Certificates {
  const r = readChain(ders, chainLength, cache);
  if (typeof r.leaf === "string") {
    sink?.add("tls_certificate_unparseable", `leaf certificate of ${ders[0].length} bytes does not parse as X.509 DER (${r.leaf})`, dir, offset);
  }
  return { leaf: typeof r.leaf === "string" ? null : r.leaf, chain: r.chain, chainsToPublicRoot: r.chainsToPublicRoot };
}

/** What a Certificate message (or an SSL 2.0 SERVER-HELLO) gave. */
export interface Certificates {
  leaf: CertificateFacts | null;
  chain: ChainCertificate[];
  chainsToPublicRoot: boolean | null;
}

