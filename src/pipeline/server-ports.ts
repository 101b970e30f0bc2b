/**
 * The likely server ports the flow table orients conversations by (src/flow/orientation.ts rule
 * 3: a first packet sent from one of these to a port that is not one is the server's), injected
 * into flow as `FlowTableOptions.likelyServerPorts`.
 *
 * One set, derived, as Zeek derives likely_server_ports from its analyzers' registered ports
 * (base/frameworks/analyzer: Analyzer::register_for_ports): the ports the detectors declare
 * (`detectorServerPorts()`), the server ports of the matrix the run checks against (its rows,
 * related and infrastructure entries), and a small table of common services that no detector
 * recognizes (below). A port below 1024 counts as a service port anyway (RFC 6335 §6); it is in
 * the set when a detector or the matrix names it, which changes nothing.
 */
import { detectorServerPorts } from "../detect/index.js";
import { builtinMatrix, type Matrix } from "../policy/matrix.js";

/**
 * Services above 1023 seen in the networks Phoenix backs up that no detector recognizes by its
 * bytes (they are reported as `plaintext` or `unknown`), declared here once so that a capture
 * that starts with their server's reply still names the right client. Each is the port IANA
 * registers for the service (or its de-facto default).
 */
export const UNDETECTED_SERVICE_PORTS: readonly (readonly [number, string])[] = [
  [1433, "Microsoft SQL Server"],
  [1521, "Oracle database listener"],
  [3268, "Active Directory global catalog (LDAP)"],
  [3306, "MySQL"],
  [5060, "SIP"],
  [5355, "LLMNR"],
  [5900, "VNC"],
  [5985, "WinRM (HTTP)"],
  [5986, "WinRM (HTTPS)"],
  [6379, "Redis"],
  [6443, "Kubernetes API server"],
  [6667, "IRC"],
  [9418, "git"],
  [9440, "Nutanix Prism"],
  [27017, "MongoDB"],
];

/**
 * A matrix range wider than this is not taken as "the server listens here": a dynamic range
 * (1024-65535, passive FTP, RPC) holds the clients' ephemeral ports too, and would make both ends
 * of most conversations service ports, so rule 3 would no longer tell them apart.
 */
export const MAX_MATRIX_RANGE = 64;

interface PortEntry {
  readonly ports: readonly { readonly first: number; readonly last: number }[];
}

/** Adds the ports of matrix entries (rows, related, infrastructure) whose ranges are narrow enough. */
function addMatrixPorts(out: Set<number>, entries: readonly PortEntry[]): void {
  for (const e of entries) {
    for (const r of e.ports) {
      if (r.last - r.first + 1 > MAX_MATRIX_RANGE) continue;
      for (let p = r.first; p <= r.last; p++) out.add(p);
    }
  }
}

/** The set derived from the detectors, `matrix` and UNDETECTED_SERVICE_PORTS (a fresh set). */
export function deriveServerPorts(matrix: Matrix): ReadonlySet<number> {
  const out = new Set<number>(detectorServerPorts());
  addMatrixPorts(out, matrix.rows);
  addMatrixPorts(out, matrix.related);
  addMatrixPorts(out, matrix.infrastructure);
  for (const [p] of UNDETECTED_SERVICE_PORTS) out.add(p);
  return out;
}

let builtinSet: ReadonlySet<number> | null = null;

/**
 * The set the pipeline passes to every flow table (read-only, shared): for `matrix` (the one the
 * run checks against), or for the built-in Phoenix matrix when none is given.
 */
export function likelyServerPorts(matrix?: Matrix): ReadonlySet<number> {
  if (matrix !== undefined) return deriveServerPorts(matrix);
  builtinSet ??= deriveServerPorts(builtinMatrix());
  return builtinSet;
}
