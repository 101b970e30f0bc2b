/**
 * The path through a web proxy (docs/findings.md, "Through a web proxy"): a conversation whose
 * cleartext preamble was an HTTP CONNECT (RFC 9110 §9.3.6) or a SOCKS request (RFC 1928, SOCKS 4a)
 * is the proxy's connection to the tunnel's target, not to the web proxy: the matrix judges it
 * by the target's port and role, with the TLS facts of the handshake inside the tunnel.
 */
import type { Namer } from "./namer.js";
import type { ConnectionView } from "./view.js";

export interface WebProxyPath {
  via: "http-connect" | "socks4" | "socks5";
  /** The host the tunnel leads to, as the client wrote it (a name or an address). */
  target: string;
  targetPort: number;
  accepted: boolean | null;
}

/** The web-proxy tunnel this conversation went through, or null (none, or a STARTTLS-like to the same server). */
export function webProxyPath(c: ConnectionView): WebProxyPath | null {
  const t = c.facts?.tunnel;
  if (!t || (t.via !== "http-connect" && t.via !== "socks4" && t.via !== "socks5")) return null;
  if (t.target === null || t.targetPort === null) return null;
  return { via: t.via, target: t.target, targetPort: t.targetPort, accepted: t.accepted };
}

const VIA_TEXT: Record<WebProxyPath["via"], string> = { "http-connect": "HTTP CONNECT", socks4: "SOCKS 4", socks5: "SOCKS 5" };

/** "HTTP CONNECT" / "SOCKS 5". */
export function viaText(p: WebProxyPath): string {
  return VIA_TEXT[p.via];
}

/** "TCP 443 to backup.druva.com from 10.0.0.5 (proxy) through the web proxy 10.0.0.9 port 3128" */
export function tunnelHead(c: ConnectionView, p: WebProxyPath, client: string, n: Namer): string {
  return `TCP ${p.targetPort} to ${n.wire("host", p.target)} from ${client} through the web proxy ${n.address(c.server.ip)} port ${c.server.port}`;
}

/** What the web proxy answered when it did not open the tunnel. */
export function refusalText(c: ConnectionView, p: WebProxyPath, n: Namer): string {
  const to = `${n.wire("host", p.target)}:${p.targetPort}`;
  const web = `${n.address(c.server.ip)} port ${c.server.port}`;
  if (p.accepted === null) return `the web proxy ${web} never answered the ${viaText(p)} to ${to} in the capture.`;
  const status = p.via === "http-connect" ? c.facts?.http?.status ?? null : null;
  return `the web proxy ${web} refused the ${viaText(p)} to ${to}${status !== null ? ` with HTTP ${status}` : ""}: the path to the cloud is blocked at the web proxy.`;
}
