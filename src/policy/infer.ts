/**
 * Role inference: which host is the proxy, an ESXi host, a guest, the NTP server, the cloud —
 * from what the capture shows, each with its reason. Explicit roles (--role, --roles) always win
 * (RoleMap keeps them first); hosts with no evidence stay unknown rather than guessed.
 *
 * The evidence, strongest first:
 *  1. the server that sent the VMware authd "220 VMware Authentication Daemon" banner → esxi;
 *  2. a TLS server whose SNI is one of the cloud's names (*.druva.com, S3 storage names) → cloud;
 *  3. the server of a TCP 3542 conversation (Phoenix's guest service) → guest;
 *  4. the server that answered NTP (mode 4) on UDP 123 → ntp;
 *  5. the host that opened the most conversations shaped like the matrix's proxy rows (right
 *     transport and port), counting only hosts with no role yet → proxy.
 */
import { formatIp } from "../decode/addr.js";
import type { Conversation } from "../flow/conversation.js";
import type { Matrix } from "./matrix.js";
import { rowMatches } from "./matrix.js";
import type { RoleMap } from "./roles.js";

/** Server names that are the Phoenix cloud or its storage endpoints (suffix match on the SNI). */
export const CLOUD_NAME_SUFFIXES = [".druva.com", ".druva.net", ".amazonaws.com"];

export function isCloudName(sni: string): boolean {
  const n = sni.toLowerCase().replace(/\.$/, "");
  return CLOUD_NAME_SUFFIXES.some((s) => n.endsWith(s) || n === s.slice(1));
}

function describe(c: Conversation): string {
  return `conversation ${c.id}, frame ${c.firstFrame}`;
}

/** Add inferred roles to `roles` from the conversations. */
export function inferRoles(convs: readonly Conversation[], matrix: Matrix, roles: RoleMap): void {
  for (const c of convs) {
    const f = c.facts;
    if (f === null) continue;
    if (f.protocol === "vmware-authd") {
      roles.infer(c.serverIp, c.ipVersion, "esxi", `sent the VMware authd banner on TCP ${c.serverPort} (${describe(c)})`);
    }
  }
  for (const c of convs) {
    const sni = c.facts?.tls?.sni;
    if (sni && isCloudName(sni)) {
      roles.infer(c.serverIp, c.ipVersion, "cloud", `TLS server name ${sni} is a Phoenix cloud name (${describe(c)})`);
    }
  }
  for (const c of convs) {
    if (c.transport === "tcp" && c.serverPort === 3542) {
      roles.infer(c.serverIp, c.ipVersion, "guest", `server of TCP 3542, the Phoenix guest service (${describe(c)})`);
    }
  }
  for (const c of convs) {
    const ntp = c.facts?.ntp;
    if (c.transport === "udp" && c.serverPort === 123 && ntp && ntp.serverMode === 4) {
      roles.infer(c.serverIp, c.ipVersion, "ntp", `answered NTP in server mode on UDP 123 (${describe(c)})`);
    }
  }

  // The proxy: the client of most conversations shaped like the proxy's rows.
  const proxyRows = matrix.rows.filter((r) => r.client === "proxy");
  const counts = new Map<string, { n: number; conv: Conversation }>();
  for (const c of convs) {
    if (!proxyRows.some((r) => rowMatches(r, c.serverPort, c.transport))) continue;
    if (roles.roleOf(c.clientIp, c.ipVersion) !== null) {
      if (roles.roleOf(c.clientIp, c.ipVersion) === "proxy") return; // already known
      continue;
    }
    const key = formatIp(c.clientIp, c.ipVersion);
    const cur = counts.get(key);
    if (cur) cur.n++;
    else counts.set(key, { n: 1, conv: c });
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1].n - a[1].n);
  if (ranked.length === 0) return;
  // A tie between two hosts is not evidence enough: leave both unknown.
  if (ranked.length > 1 && ranked[1][1].n === ranked[0][1].n) return;
  const [text, { n, conv }] = ranked[0];
  const ports = [
    ...new Set(
      convs
        .filter((c) => formatIp(c.clientIp, c.ipVersion) === text && proxyRows.some((r) => rowMatches(r, c.serverPort, c.transport)))
        .map((c) => `${c.transport.toUpperCase()} ${c.serverPort}`),
    ),
  ];
  roles.infer(
    conv.clientIp,
    conv.ipVersion,
    "proxy",
    `opened ${n} conversation${n === 1 ? "" : "s"} on the proxy's matrix ports (${ports.slice(0, 6).join(", ")}${ports.length > 6 ? ", …" : ""}), more than any other host`,
  );
}
