/**
 * The order of findings (docs/findings.md, "Order: what to fix first") and the "what to fix
 * first" lines made from them.
 */
import type { ConversationData } from "../flow/index.js";
import type { ConversationVerdict, Finding, FixFirst } from "./finding.js";
import { PROXY, REQUIRED_RANK } from "./finding.js";
import { SEVERITY_RANK } from "./judge.js";
import type { MatrixRow } from "./matrix.js";
import { formatPorts } from "./matrix.js";
import type { MissingHosts } from "./missing.js";
import type { Namer } from "./namer.js";
import { viaText, webProxyPath } from "./tunnel.js";
import type { ConnectionView } from "./view.js";

function rowOf(f: Finding, byId: Map<string, MatrixRow>): MatrixRow | undefined {
  const ids = f.rule ? [f.rule] : f.rules;
  const rows = ids.map((id) => byId.get(id)).filter((r): r is MatrixRow => r !== undefined);
  return rows.sort((a, b) => REQUIRED_RANK[a.required] - REQUIRED_RANK[b.required])[0];
}

/** docs/findings.md, "Order": severity, then the backup path's blocked/refused, then how required the row is, then first frame. */
export function rank(findings: Finding[], byId: Map<string, MatrixRow>): void {
  const key = (f: Finding) => {
    const row = rowOf(f, byId);
    const required = row ? REQUIRED_RANK[row.required] : 3;
    // A TLS-inspecting device on the cloud path fails every upload as surely as a block.
    const path = (f.code === "blocked" || f.code === "refused" || f.code === "tls-inspection") && required < 2 ? 0 : 1;
    return [-SEVERITY_RANK[f.severity], path, required, f.frames.length ? f.frames[0] : Infinity];
  };
  const keys = new Map(findings.map((f) => [f, key(f)]));
  findings.sort((a, b) => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
    return 0;
  });
}

const ROLE_NAMES: Record<string, string> = { proxy: "Proxy", vcenter: "vCenter", esxi: "ESXi", "esxi-standalone": "ESXi (standalone)", guest: "Guest", ntp: "NTP server", cloud: "Phoenix cloud", cloudcache: "CloudCache" };

export function fixFirst(
  findings: Finding[],
  views: readonly ConnectionView[],
  verdicts: Map<ConversationData, ConversationVerdict>,
  byId: Map<string, MatrixRow>,
  n: Namer,
  missingHosts: Map<Finding, MissingHosts>,
): FixFirst[] {
  const byConv = new Map(views.map((c) => [c.id, c]));
  const out: FixFirst[] = [];
  const seen = new Set<string>();
  for (const f of findings) {
    if (f.severity === "info") continue;
    const c = byConv.get(f.conversations[0]);
    const v = c ? verdicts.get(c.conv) : undefined;
    const row = rowOf(f, byId);
    const T = c ? c.transport.toUpperCase() : row?.transport.toUpperCase() ?? "";
    const tunnel = c ? webProxyPath(c) : null;
    const port = tunnel ? tunnel.targetPort : c ? c.server.port : row?.ports[0].first ?? 0;
    let host = c ? n.address(c.server.ip) : "";
    let role = v?.serverRole ?? null;
    const fromProxy = c ? (v?.clientRole === PROXY ? `the proxy ${n.address(c.client.ip)}` : n.address(c.client.ip)) : "the proxy";
    let action: string;
    switch (f.code) {
      case "blocked":
        // Through a web proxy, the web proxy is the host to change (it refused the tunnel).
        action = tunnel ? `allow the ${viaText(tunnel)} to ${n.wire("host", tunnel.target)}:${tunnel.targetPort} from ${fromProxy}` : `allow ${T} ${port} from ${fromProxy}`;
        if (tunnel) role = null;
        break;
      case "refused": action = `start the service on ${T} ${port}, or open it in the host's firewall`; break;
      case "weak-tls": action = `enable ${row?.minTls ?? "TLS 1.2"} or newer on ${T} ${port}`; break;
      case "plaintext-where-tls-required": action = `serve TLS on ${T} ${port}`; break;
      case "protocol-mismatch": action = `check what answers on ${T} ${port}: not the service the matrix expects`; break;
      case "tls-not-established": action = `check the TLS service on ${T} ${port}`; break;
      case "tls-inspection": action = `exempt the Phoenix cloud's names from TLS inspection (the certificate on ${T} ${port} is re-signed)`; break;
      case "certificate-self-signed": action = `find out what answers on ${T} ${port} with a self-signed certificate`; break;
      case "certificate-expired": action = `renew the expired certificate on ${T} ${port}`; break;
      case "certificate-not-yet-valid": action = `check the clocks (NTP) and the certificate's start date on ${T} ${port}`; break;
      case "certificate-name-mismatch": action = `serve a certificate for the name the proxy uses on ${T} ${port}`; break;
      case "certificate-weak-key": action = `reissue the certificate on ${T} ${port} with a 2048-bit RSA or P-256 key or stronger`; break;
      case "certificate-weak-signature": action = `reissue the certificate on ${T} ${port} signed with SHA-256 or stronger`; break;
      case "wrong-path": action = `check how it is registered in Phoenix (the proxy reached it on ${T} ${port})`; break;
      case "wrong-direction":
        host = c ? n.address(c.client.ip) : host;
        role = v?.clientRole ?? null;
        action = `find out why it opens ${T} ${port} towards ${c ? n.address(c.server.ip) : "the proxy"}`;
        break;
      case "unexpected-port":
        host = c ? n.address(c.client.ip) : host;
        role = v?.clientRole ?? null;
        action = `find out what opens ${T} ${port} to ${c ? n.address(c.server.ip) : "that host"}`;
        break;
      case "missing-expected": {
        // The server host that saw nothing, else the proxy (the client of the row) itself.
        const who = missingHosts.get(f) ?? { server: null, proxy: null };
        host = who.server !== null ? n.address(who.server) : who.proxy !== null ? n.address(who.proxy) : "the proxy";
        role = who.server !== null ? (row?.server ?? null) : who.proxy !== null ? PROXY : null;
        action = `check that the proxy can reach ${who.server !== null ? "it" : `its ${row?.server ?? "peer"}`} on ${row?.transport.toUpperCase()} ${row ? formatPorts(row.ports) : ""} (none in the capture)`;
        break;
      }
      default: action = f.fix ?? f.code;
    }
    // Through a web proxy, what is wrong past it is the target's (named as the client wrote it).
    if (tunnel && f.code !== "blocked") host = n.wire("host", tunnel.target);
    const impact = row?.impact ?? null;
    const k = `${host}|${action}`;
    if (seen.has(k)) continue;
    seen.add(k);
    // A host of unknown role is named by what the row expects it to be ("ESXi 10.0.1.7").
    const shown = role ?? (row && c && host === n.address(c.server.ip) ? row.server : null);
    const label = tunnel && f.code === "blocked" ? `Web proxy ${host}` : shown ? `${ROLE_NAMES[shown] ?? shown} ${host}` : host;
    out.push({ host, role, action, impact, code: f.code, severity: f.severity, text: `${label}: ${action}${impact && f.code !== "unexpected-port" && f.code !== "wrong-direction" ? ` — ${impact}` : ""}` });
  }
  return out;
}
