/**
 * The likely server ports above 1023 the flow table orients conversations by (Zeek's
 * likely_server_ports; src/flow/orientation.ts rule 3), injected into flow as an option.
 *
 * Until the detectors declare one set of them (issue 16 point 3: derived from the detectors'
 * `ports` and the matrix rows, as Zeek derives likely_server_ports from analyzer registrations),
 * this is the hand list flow/orientation.ts held before: the Phoenix matrix's ports and common
 * ones, and the web proxies' 1080 (SOCKS) and 3128 (Squid) that the tunnel detectors read (issue 18:
 * a capture that starts inside a tunnel still names the proxy its client).
 */
const TODAY = [
  902, 903, 1080, 1433, 1521, 2049, 3128, 3268, 3306, 3389, 3542, 3545, 5060, 5061, 5353, 5355, 5432, 5900, 5985, 5986, 6379,
  6443, 6667, 8000, 8080, 8443, 9418, 9440, 27017,
] as const;

const SET: ReadonlySet<number> = new Set<number>(TODAY);

/** The set the pipeline passes to every flow table (read-only, shared). */
export function likelyServerPorts(): ReadonlySet<number> {
  return SET;
}
