/**
 * The port matrix's model: the types of a matrix and its rows, the values its fields take, and
 * how a row is matched against a conversation. Validation is in matrix-schema.ts, loading and
 * merging in matrix.ts (which re-exports this file). docs/matrix-format.md describes it for users.
 */
import { ValidationError } from "./validate.js";

export type Transport = "tcp" | "udp";
export const TRANSPORTS: readonly Transport[] = ["tcp", "udp"];

/** Transports an infrastructure entry can name: ARP and IPv6 ND are not TCP/UDP. */
export type InfraTransport = Transport | "icmpv6" | "arp";
export const INFRA_TRANSPORTS: readonly InfraTransport[] = ["tcp", "udp", "icmpv6", "arp"];

/**
 * What must cross the wire. The detectable protocols of the report contract, plus "nfs" (a port
 * fact for now) and "any" (no expectation about the bytes).
 */
export const EXPECTATIONS = ["tls", "vmware-authd", "ssh", "rdp", "http", "ntp", "dns", "nfs", "any"] as const;
export type Expectation = (typeof EXPECTATIONS)[number];

/** Minimum TLS versions, spelled as the report spells versions. */
export const TLS_VERSIONS = ["SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"] as const;
export type TlsVersionName = (typeof TLS_VERSIONS)[number];

/**
 * What a row's server certificate must be (docs/matrix-format.md, "certificate"): "public" a chain
 * to a public root (the cloud), "private-ca" a private CA such as vCenter's VMCA is normal,
 * "self-signed" a self-signed certificate is normal (ESXi), "none" not checked.
 */
export const CERTIFICATE_POLICIES = ["public", "private-ca", "self-signed", "none"] as const;
export type CertificatePolicy = (typeof CERTIFICATE_POLICIES)[number];

export const REQUIRED = ["always", "if-present", "optional"] as const;
export type Required = (typeof REQUIRED)[number];

/** An inclusive port range; a single port has first === last. */
export interface PortRange {
  first: number;
  last: number;
}

/** One expected conversation (also the shape of `related` entries). */
export interface MatrixRow {
  /** Stable id, e.g. "esxi-902"; findings and conversations name rows by it. */
  id: string;
  /** Role of the side that opens the connection, or "any". */
  client: string;
  /** Role of the side that listens, or "any" (the first of `servers`). */
  server: string;
  /** Every role the listening side may have: esxi-902 is expected to managed and standalone ESXi hosts alike. */
  servers: string[];
  /** True when client and server must be the same host (guest-3545: local only). */
  sameHost: boolean;
  /** Server ports. */
  ports: PortRange[];
  transport: Transport;
  /** What must cross the wire. */
  expect: Expectation;
  /** What the server's certificate must be, and how much each problem weighs (certificate.ts); "none" when not given. */
  certificate: CertificatePolicy;
  /** Lowest acceptable TLS version where TLS is required, else null. */
  minTls: TlsVersionName | null;
  /** The condition under which the row applies, in words. */
  when: string;
  /**
   * When the row must be seen (for `missing-expected`): "always" — whenever the client role is
   * present in the capture (proxy → cloud, proxy → NTP); "if-present" — for every host of the
   * server role present in the capture (902 to each managed ESXi host); "optional" — only
   * when the work that needs it runs (application-aware backups, DR restores), never missing.
   */
  required: Required;
  /** The vendor text (or other source) the row comes from. */
  source: string;
  /** What fails when the row's traffic cannot pass, for the "what to fix first" list ("NBD/NBDSSL backups of its VMs fail"). */
  impact?: string;
  notes?: string;
}

/** Traffic every host makes that is not in the vendor matrix: shown, never a violation. */
export interface InfraEntry {
  id: string;
  transport: InfraTransport;
  /** Ports, for tcp/udp; empty otherwise. */
  ports: PortRange[];
  /** ICMPv6 types, for icmpv6 (empty list: every type). */
  icmpTypes: number[];
  expect: Expectation;
  description: string;
  source: string;
}

export interface Matrix {
  product: string;
  /** Version of the matrix data (not of the product). */
  version: string;
  /** Role names usable in rows and on the command line → what they stand for. */
  roles: Record<string, string>;
  rows: MatrixRow[];
  infrastructure: InfraEntry[];
  /** Traffic that is not the proxy's but may be seen beside it (VMware heartbeats, MKS). */
  related: MatrixRow[];
}

/** A validated matrix file, before it is merged with the built-in matrix. */
export interface MatrixFile {
  mode: "extend" | "replace";
  product?: string;
  version?: string;
  roles?: Record<string, string>;
  rows?: MatrixRow[];
  infrastructure?: InfraEntry[];
  related?: MatrixRow[];
}

/** A matrix file (or the built-in matrix) that failed validation; one line per mistake. */
export class MatrixError extends ValidationError {
  constructor(what: string, problems: string[]) {
    super(what, problems);
    this.name = "MatrixError";
  }
}

/** The server side of a row as people read it: "esxi or esxi-standalone". */
export function rowServerText(r: Pick<MatrixRow, "servers">): string {
  return r.servers.join(" or ");
}

/** Does the row (or infrastructure entry) cover this server port and transport? */
export function rowMatches(row: { ports: readonly PortRange[]; transport: string }, port: number, transport: string): boolean {
  if (row.transport !== transport) return false;
  for (const r of row.ports) if (port >= r.first && port <= r.last) return true;
  return false;
}

/** "443", "1000-2000", "53, 5353" — ports as a person writes them. */
export function formatPorts(ports: readonly PortRange[]): string {
  return ports.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`)).join(", ");
}
