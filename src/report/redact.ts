/**
 * `--redact`: a copy of the report in which every address, host name, server name, certificate
 * name, user name and capture file name is replaced by a pseudonym, so a customer can attach the
 * report to a ticket without showing their network. docs/redaction.md says exactly what is
 * replaced and what is kept.
 *
 * Pseudonyms are numbered per report, in order of first appearance ([proxy-1], [esxi-1],
 * [host-3], [name-2].local, [user-1], …): the same value gets the same pseudonym everywhere in one
 * report, two values never share one, and the role of an address stays in its pseudonym. They are
 * NOT a hash of the value, so nobody can recover an address or name by hashing candidates (a
 * dictionary attack on 2^32 IPv4 addresses takes seconds); the flip side is that two reports
 * redacted separately number their hosts independently.
 *
 * Redaction is by field. Every string in the report is visited, and a field whose meaning is
 * known is replaced by what it is, whatever it looks like: an SNI, a DNS name, a Host header, a
 * request target, a banner, an RDP cookie, a MAC is replaced as a whole (an SNI of
 * `evil.example<script>` is still one SNI). The report's own sentences (findings, fixes, role
 * reasons, coverage, "fix first", Wireshark filters) are written by the policy through a Namer
 * (src/policy/namer.ts): under --redact every value in them is a mark saying what it is, and the
 * mark is replaced here by the same pseudonym its field gets, so no sentence is scanned to find
 * what it quotes. The free-text scan (addresses in every written form, e-mail addresses, file
 * paths, dotted names the report holds, and in text off the wire anything shaped like a host
 * name) runs only as a second net: on what is left of a sentence, on anomaly messages around
 * their quotes, on software versions kept. A field this module does not know (added later) is
 * treated as text off the wire, the strictest treatment.
 *
 * The field table is record-redaction.ts (beside the record); the rules per kind of value are
 * redact/pseudonyms.ts, the free-text scan redact/free-text.ts, the shapes it looks for
 * redact/patterns.ts.
 */
import { replaceMarks } from "../policy/index.js";
import type { Report } from "./record.js";
import { Pseudonyms } from "./redact/pseudonyms.js";

/** One value replaced, for a private map the customer keeps (never attached with the report). */
export interface RedactionEntry {
  kind: "address" | "network" | "mac" | "name" | "user" | "email" | "file" | "certificate" | "text";
  original: string;
  pseudonym: string;
}

/** The redacted copy; the input is not touched. */
export function redactReport(r: Report): Report {
  return redactReportWithMap(r).report;
}

/** What a redacted report says of itself (`redaction` in the JSON; the renderers label the filters). */
export const REDACTION_NOTE =
  "Addresses, names and strings from the wire are pseudonyms ([proxy-1], [name-2].local, [banner-1], …) numbered for this report only. " +
  "The Wireshark filters use them too: put the addresses back (from the --redact-key file) before running one.";

/**
 * The redacted copy and what was replaced by what (in order of first appearance). Give it the
 * report built with MARKING_NAMER (src/policy/namer.ts), as `--redact` does, so that its
 * sentences are named by field; a report built with PLAIN_NAMER gets only the second net there.
 */
export function redactReportWithMap(r: Report): { report: Report; map: RedactionEntry[] } {
  const copy = structuredClone(r);
  delete copy.redaction;
  const p = new Pseudonyms();
  p.collect(copy);
  const out = p.rewrite(copy, []) as Report;
  out.redaction = { note: REDACTION_NOTE };
  return { report: out, map: p.entries };
}

/** The report as PLAIN_NAMER would have written it: every mark replaced by its original value. */
export function unmarkReport(r: Report): Report {
  const un = (v: unknown): unknown =>
    typeof v === "string" ? replaceMarks(v, (_k, x) => x) : Array.isArray(v) ? v.map(un) : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, un(x)])) : v;
  return un(r) as Report;
}
