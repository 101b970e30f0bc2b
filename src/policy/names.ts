/**
 * `name-not-resolved` (docs/findings.md): a host name given for a role (probe --role cloud=NAME)
 * that the system resolver could not turn into an address. Nothing of its rows can be checked,
 * and on the proxy the backup software resolves the same name the same way: its jobs fail too.
 */
import type { Finding, FixFirst } from "./check.js";
import type { Matrix } from "./matrix.js";
import { type Namer, PLAIN_NAMER } from "./namer.js";

/** A name that did not resolve, with the role it was given for and the resolver's answer. */
export interface UnresolvedName {
  role: string;
  name: string;
  error: string;
}

export function unresolvedFindings(names: readonly UnresolvedName[], matrix: Matrix, namer: Namer = PLAIN_NAMER): { findings: Finding[]; fixFirst: FixFirst[] } {
  const findings: Finding[] = [];
  const fixFirst: FixFirst[] = [];
  for (const u of names) {
    const rows = matrix.rows.filter((r) => r.client === "proxy" && r.servers.includes(u.role));
    const name = namer.wire("name", u.name);
    const impact = rows[0]?.impact ?? null;
    findings.push({
      code: "name-not-resolved", severity: "error",
      message: `${name} (${u.role}) does not resolve on the proxy (${u.error}): nothing of ${rows.length ? `row${rows.length === 1 ? "" : "s"} ${rows.map((r) => r.id).join(", ")}` : "its rows"} can be reached by that name.`,
      fix: `Check the proxy's DNS servers (/etc/resolv.conf) and that ${name} is spelled as Phoenix is configured with; resolve it on the proxy with getent hosts ${name}.`,
      rule: rows.length === 1 ? rows[0].id : null, rules: rows.length > 1 ? rows.map((r) => r.id) : [],
      conversations: [], frames: [], framesIn: [], wiresharkFilter: `dns.qry.name == "${name}"`,
    });
    const action = `make ${name} resolve on the proxy (its DNS servers)`;
    fixFirst.push({ host: name, role: u.role, action, impact, code: "name-not-resolved", severity: "error", text: `${name}: ${action}${impact ? ` — ${impact}` : ""}` });
  }
  return { findings, fixFirst };
}
