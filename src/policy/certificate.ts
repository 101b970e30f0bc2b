/**
 * The certificate checks of a TLS row (docs/findings.md, "Certificates"): the chain the server
 * sent in clear (TLS ≤ 1.2, the authd and RDP TLS) judged at the capture's time, against the
 * row's `certificate` property (docs/matrix-format.md), which says what is normal on that row —
 * a public chain for the cloud, a private CA (VMCA) for vCenter, a self-signed certificate for
 * ESXi — and how much each problem weighs there.
 */
import { type ChainCertificate, isPublicRootOrganisation, type TlsFacts } from "../detect/index.js";
import inspecting from "./inspecting-issuers.json" with { type: "json" };
import type { CertificatePolicy } from "./matrix-model.js";
import type { Namer } from "./namer.js";

export const CERTIFICATE_CODES = [
  "tls-inspection",
  "certificate-self-signed",
  "certificate-expired",
  "certificate-not-yet-valid",
  "certificate-name-mismatch",
  "certificate-weak-key",
  "certificate-weak-signature",
  "certificate-not-verifiable",
] as const;
export type CertificateCode = (typeof CERTIFICATE_CODES)[number];
type Level = "error" | "warning" | "info";

/**
 * What each problem weighs under each policy; a code missing from a policy is normal there and
 * not checked. The checks run in CERTIFICATE_CODES order and the first that applies is the
 * finding; the others found on the same chain are named in its message ("also: …").
 */
export const CERTIFICATE_SEVERITY: Record<CertificatePolicy, Partial<Record<CertificateCode, Level>>> = {
  // The cloud: its chain must lead to a public root, or the proxy's TLS client rejects it.
  public: {
    "tls-inspection": "error", "certificate-self-signed": "error", "certificate-expired": "error", "certificate-not-yet-valid": "error",
    "certificate-name-mismatch": "error", "certificate-weak-key": "error", "certificate-weak-signature": "error", "certificate-not-verifiable": "info",
  },
  // vCenter: VMCA (a private CA with a self-signed root) or a self-signed certificate is normal.
  "private-ca": {
    "certificate-expired": "warning", "certificate-not-yet-valid": "warning", "certificate-name-mismatch": "warning",
    "certificate-weak-key": "warning", "certificate-weak-signature": "warning", "certificate-not-verifiable": "info",
  },
  // ESXi: self-signed by default; the proxy pins its thumbprint (VDDK), so dates and names break nothing.
  "self-signed": {
    "certificate-expired": "info", "certificate-not-yet-valid": "info", "certificate-weak-key": "info", "certificate-weak-signature": "info", "certificate-not-verifiable": "info",
  },
  none: {},
};

/** RSA and DSA keys below this many bits are weak (NIST SP 800-57 Part 1 Rev. 5, Table 2: 112-bit security). */
const MIN_RSA_BITS = 2048;
/** EC keys below P-256's size are weak (the same table: 224-bit curves are the floor; CA/B Forum BR §6.1.5 allows P-256 and up). */
const MIN_EC_BITS = 256;

export interface CertificateJudgement {
  code: CertificateCode;
  severity: Level;
  what: string;
  fix: string;
}

/** The inspecting product an issuer names ("Fortinet FortiGate"), or null for an unnamed private CA. */
export function inspectingProduct(chain: readonly ChainCertificate[]): string | null {
  const issuers = chain.map((c) => c.issuer.toLowerCase());
  for (const e of inspecting.issuers) if (e.match.some((m) => issuers.some((i) => i.includes(m)))) return e.name;
  return null;
}

/**
 * The public CA an unfinished chain points at: the organisation (O=) in the issuer of the top
 * certificate sent, when a root of the public store carries the same organisation ("Amazon",
 * "DigiCert Inc"); null otherwise. A server that leaves out its intermediate certificate sends
 * such a chain, and it leads to no root from the capture alone.
 */
export function publicIssuerOrganisation(top: ChainCertificate): string | null {
  if (top.selfSigned) return null;
  const o = /(?:^|,)\s*O=([^,]+)/.exec(top.issuer);
  return o && isPublicRootOrganisation(o[1]) ? o[1].trim() : null;
}

/** RFC 6125 §6.4.3: a wildcard stands for the whole left-most label only. */
function nameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, "");
  const h = host.toLowerCase().replace(/\.$/, "");
  if (p === h) return true;
  if (!p.startsWith("*.")) return false;
  const dot = h.indexOf(".");
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

/** The names a certificate is for: its SAN entries, else (RFC 6125 §6.4.4) its subject CN. */
function certNames(c: ChainCertificate): string[] {
  if (c.san.length) return c.san;
  const cn = /(?:^|, )CN=([^,]+)/.exec(c.subject)?.[1];
  return cn ? [cn] : [];
}

function weakKey(c: ChainCertificate): string | null {
  if (c.keyBits === null || c.keyType === null) return null;
  if ((c.keyType === "rsa" || c.keyType === "rsa-pss" || c.keyType === "dsa") && c.keyBits < MIN_RSA_BITS) return `a ${c.keyBits}-bit ${c.keyType.toUpperCase()} key`;
  if (c.keyType === "ec" && c.keyBits < MIN_EC_BITS) return `a ${c.keyBits}-bit EC key${c.curve ? ` (${c.curve})` : ""}`;
  return null;
}

/**
 * The certificate problems of `tls` under `policy`, most important first, judged at `at` (the
 * conversation's first packet, seconds since the epoch). Null when nothing applies: no policy,
 * no chain seen and none hidden, or a chain that is normal for the row.
 */
export function judgeCertificate(tls: TlsFacts, policy: CertificatePolicy, at: number, sni: string | null, n: Namer): CertificateJudgement | null {
  const weigh = CERTIFICATE_SEVERITY[policy];
  if (Object.keys(weigh).length === 0) return null;
  if (tls.certificateVisible === false) {
    const level = weigh["certificate-not-verifiable"];
    if (!level) return null;
    return {
      code: "certificate-not-verifiable", severity: level,
      what: `the server chose ${tls.version ?? "TLS 1.3"}, so its certificate travelled encrypted: whether it leads to a public root, is in date and names ${sni ? n.wire("name", sni) : "the server"} cannot be verified from a capture.`,
      fix: "Run phoenix-netcheck probe on the proxy: it checks the certificate from the client side.",
    };
  }
  const chain = tls.chain;
  if (chain.length === 0) return null;
  const leaf = chain[0];
  const dn = (s: string) => n.wire("dn", s);
  const about = (c: ChainCertificate) => `subject ${dn(c.subject)}, issuer ${dn(c.issuer)}, valid ${c.notBefore} to ${c.notAfter}`;
  const when = new Date(Math.round(at * 1000)).toISOString().replace(/\.\d{3}Z$/, "Z");
  const found: CertificateJudgement[] = [];
  const add = (code: CertificateCode, what: string, fix: string) => {
    const level = weigh[code];
    if (level) found.push({ code, severity: level, what, fix });
  };

  if (tls.chainsToPublicRoot === false && !leaf.selfSigned) {
    const product = inspectingProduct(chain);
    const top = chain[chain.length - 1];
    const publicCa = product === null ? publicIssuerOrganisation(top) : null;
    if (publicCa !== null && weigh["tls-inspection"]) {
      // Not proof of inspection: the chain stops below a public CA's root. A warning, so that
      // nobody is sent to a firewall on a server's incomplete chain.
      found.push({
        code: "tls-inspection",
        severity: "warning",
        what: `the chain sent stops at ${dn(top.subject)}, issued by ${dn(top.issuer)}, whose organisation (${n.wire("dn", publicCa)}) is a public CA's, and leads to no public root from the capture (${about(leaf)}): either the server leaves out its intermediate certificate, or something re-signs the connection under a public CA's name.`,
        fix: "Run phoenix-netcheck probe on the proxy: it shows the chain the proxy is given and whether it verifies; a TLS-inspecting device names itself there.",
      });
    } else {
      add("tls-inspection",
        `the certificate was issued by ${dn(leaf.issuer)}${product ? ` (${product})` : ", a corporate CA"}, and its chain leads to no public root (${about(leaf)}${chain.length > 1 ? `; top of the chain sent: ${dn(top.subject)}` : ""}): a TLS-inspecting firewall or proxy re-signs this connection — the most common cause of cloud uploads failing behind a corporate firewall.`,
        `Exempt the Phoenix cloud's names (${sni ? `${n.wire("name", sni)}, ` : ""}*.druva.com and its storage endpoints) from TLS inspection on ${product ?? "the inspecting device"}, or have the proxy trust its CA.`);
    }
  }
  if (leaf.selfSigned) {
    add("certificate-self-signed", `the certificate is self-signed (${about(leaf)}): it leads to no public root.`,
      "Find out what answers in the Phoenix cloud's place: the cloud never presents a self-signed certificate.");
  }
  for (const c of chain) {
    const nb = Date.parse(c.notBefore) / 1000;
    const na = Date.parse(c.notAfter) / 1000;
    const which = c === leaf ? "the certificate" : `a certificate of the chain (${dn(c.subject)})`;
    if (Number.isFinite(na) && at > na) {
      add("certificate-expired", `${which} expired on ${c.notAfter}, before the capture (${when}): ${about(c)}.`, "Renew the certificate (or find what presents an expired one in the server's place).");
      break;
    }
    if (Number.isFinite(nb) && at < nb) {
      add("certificate-not-yet-valid", `${which} is not valid until ${c.notBefore}, after the capture (${when}): ${about(c)}. Check the clocks of the server and of the proxy (NTP).`,
        "Check the server's and the proxy's clocks (NTP), or reissue the certificate with a past start date.");
      break;
    }
  }
  if (sni) {
    const names = certNames(leaf);
    if (!names.some((x) => nameMatches(x, sni))) {
      add("certificate-name-mismatch", `the certificate is not for ${n.wire("name", sni)}, the name the client asked for: it names ${names.length ? names.map((x) => n.wire("name", x)).join(", ") : "no host"} (${about(leaf)}).`,
        `Serve a certificate for ${n.wire("name", sni)}, or have the client connect by a name the certificate holds.`);
    }
  }
  const weak = chain.map((c) => ({ c, w: weakKey(c) })).find((x) => x.w !== null);
  if (weak) {
    add("certificate-weak-key", `${weak.c === leaf ? "the certificate" : `a certificate of the chain (${dn(weak.c.subject)})`} has ${weak.w}, below ${MIN_RSA_BITS}-bit RSA or P-256 (${about(weak.c)}).`,
      "Reissue the certificate with a 2048-bit RSA key or larger, or a P-256 EC key or larger.");
  }
  // A root's own signature is never checked by anyone: only certificates issued by another count.
  const sig = chain.find((c) => c.weakSignatureHash && (c === leaf || !c.selfSigned));
  if (sig) {
    add("certificate-weak-signature", `${sig === leaf ? "the certificate" : `a certificate of the chain (${dn(sig.subject)})`} is signed with ${sig.signatureAlgorithm ?? "SHA-1"}, a broken hash (${about(sig)}).`,
      "Reissue the certificate signed with SHA-256 or stronger.");
  }
  if (found.length === 0) return null;
  const [first, ...rest] = found;
  if (rest.length === 0) return first;
  return { ...first, what: `${first.what} Also: ${rest.map((r) => r.code).join(", ")}.` };
}
