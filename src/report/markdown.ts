/**
 * The report as GitHub Flavored Markdown, for tickets, wikis and pull requests: the same content
 * as the terminal table (the section views in view/ word it), in lists and GFM tables. Every string goes
 * through escapeMarkdown (text) or markdownCode (Wireshark filters, stream filters) at the point
 * of output, so a hostile SNI or banner cannot add a link, raw HTML, an image or a table cell. No
 * HTML is written at all: cells hold several facts separated by "; " instead of <br>.
 */
import type { MatrixRow } from "../policy/index.js";
import type { Report } from "./record.js";
import { escapeMarkdown, markdownCode } from "./sanitize.js";
import {
  wiresharkLabel,
  NO_FINDINGS,
  NO_OTHER_CONVERSATIONS,
  NO_ROLES,
  NOT_SEEN,
  SECTION,
  captureViews,
  evidenceLine,
  findingGroups,
  generatorLine,
  matrixView,
  otherConversations,
  roleViews,
  verdictView,
  fixFirstLines,
  coverageLines,
} from "./view/index.js";

/**
 * A Wireshark filter, exactly: as a code span, which shows every character as is — unless it
 * holds `<` or `>` (a filter quoting a wire string could), which a code span would carry raw into
 * the file; then as escaped text, which reads the same once rendered.
 */
function filterText(f: string, inTable = false): string {
  return /[<>]/.test(f) ? escapeMarkdown(f) : markdownCode(f, inTable);
}

/** Escaped text pieces joined into one cell. */
function cell(parts: readonly string[]): string {
  return parts.map(escapeMarkdown).join("; ");
}

/** A GFM table (spec §4.10): header row, delimiter row, one row per entry; cells already escaped. */
function table(head: readonly string[], rows: readonly string[][]): string[] {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.trim()).join(" | ")} |`;
  return [line(head.map(escapeMarkdown)), line(head.map(() => "---")), ...rows.map(line)];
}

/**
 * The report as Markdown: the verdict line first, then findings (errors, warnings, info), roles,
 * matrix rows with what was seen, other conversations and captures. `matrixRows` (the matrix the
 * report was checked against) lets rows with nothing seen be listed as "not seen".
 */
export function renderMarkdown(r: Report, matrixRows?: readonly MatrixRow[]): string {
  const out: string[] = [];
  const section = (t: string) => out.push("", `## ${escapeMarkdown(t)}`, "");
  // Below the findings, each section folds away (<details>, which GitHub, GitLab, Jira and
  // Zendesk render), so a ticket comment opens with the verdict, what to fix first and the findings.
  let open = false;
  const folded = (t: string) => {
    if (open) out.push("", "</details>");
    out.push("", `<details><summary>${escapeMarkdown(t)}</summary>`, "");
    open = true;
  };

  // 1. Verdict.
  const v = verdictView(r);
  out.push(`**${v.word}** — ${escapeMarkdown(v.detail)}`);

  // 1b. What to fix first, and what the capture could not show.
  const fixes = fixFirstLines(r);
  if (fixes.length) {
    section(SECTION.fixFirst);
    fixes.forEach((t, i) => out.push(`${i + 1}. ${escapeMarkdown(t)}`));
  }
  const limits = coverageLines(r);
  if (limits.length) {
    section(SECTION.coverage);
    for (const l of limits) out.push(`- ${escapeMarkdown(l.message)}${l.action ? ` What to do: ${escapeMarkdown(l.action)}` : ""}`);
  }

  // 2. Findings, as lists: messages and filters are too long to read in table cells.
  section(SECTION.findings);
  const groups = findingGroups(r);
  if (groups.length === 0) out.push(escapeMarkdown(NO_FINDINGS));
  groups.forEach((g, gi) => {
    if (gi > 0) out.push("");
    out.push(`### ${escapeMarkdown(g.title)}`, "");
    for (const f of g.items) {
      const head = `**${escapeMarkdown(f.code)}**${f.rule ? ` (${escapeMarkdown(f.rule)})` : ""}`;
      out.push(`- ${head}: ${escapeMarkdown(f.message)}`);
      if (f.fix) out.push(`  - ${escapeMarkdown(f.fix)}`);
      if (f.where) out.push(`  - ${escapeMarkdown(f.where)}`);
      out.push(`  - ${escapeMarkdown(wiresharkLabel(r))}: ${filterText(f.filter)}`);
    }
  });
  // The evidence file (--evidence) right under the findings, outside the folded sections: its
  // name and sha256 go with the ticket.
  const ev = evidenceLine(r);
  if (ev) out.push("", escapeMarkdown(ev));

  // 3. Roles.
  folded(SECTION.roles);
  const roles = roleViews(r);
  if (roles.length === 0) out.push(escapeMarkdown(NO_ROLES));
  else out.push(...table(["Host", "Role", "Given", "Reason"], roles.map((x) => [cell([x.host]), cell([x.role]), cell([x.source]), cell([x.reason])])));

  // 4. Matrix rows.
  folded(SECTION.matrix);
  const m = matrixView(r, matrixRows);
  out.push(escapeMarkdown(m.heading));
  if (m.rows.length > 0) {
    out.push("");
    out.push(
      ...table(
        ["Row", "Client → server", "Port", "Must carry", "Required", "Seen"],
        m.rows.map((x) => [cell([x.id]), cell([x.path]), cell([x.port]), cell([x.expects]), cell([x.required]), x.seen ? cell(x.seen) : `*${NOT_SEEN}*`]),
      ),
    );
  }
  if (m.note) out.push("", escapeMarkdown(m.note));

  // 5. Other conversations.
  folded(SECTION.others);
  const others = otherConversations(r);
  if (others.rows.length === 0) out.push(escapeMarkdown(NO_OTHER_CONVERSATIONS));
  else {
    const multi = others.rows.some((c) => c.capture !== null);
    const head = ["#", ...(multi ? ["Capture"] : []), "Client", "Server", "Port", "Rule", "Protocol and details", "From client", "From server", "Frames"];
    out.push(
      ...table(
        head,
        others.rows.map((c) => [
          cell([String(c.id)]),
          ...(multi ? [cell([String(c.capture)])] : []),
          cell([c.client]),
          cell([c.server]),
          cell([c.port]),
          cell([c.kind]),
          cell([`${c.protocol} · ${c.state} ${c.history}`.trim(), ...c.details]),
          cell([c.fromClient]),
          cell([c.fromServer]),
          [escapeMarkdown(c.frames), filterText(c.stream, true), ...(c.findings.length ? [escapeMarkdown(`findings: ${c.findings.join(", ")}`)] : [])].join("; "),
        ]),
      ),
    );
    if (others.more) out.push("", escapeMarkdown(others.more));
  }

  // 6. Captures; their errors listed under the table.
  folded(SECTION.captures);
  const caps = captureViews(r);
  out.push(
    ...table(
      ["File", "Format", "Packets", "Bytes", "First packet", "Last packet", "Errors"],
      caps.map((c) => [
        cell([c.file]),
        cell([c.format, c.linkTypes]),
        cell([c.packets]),
        cell([c.bytes]),
        cell([c.first]),
        cell([c.last]),
        cell([c.errors.length === 0 ? "none" : "listed below"]),
      ]),
    ),
  );
  for (const c of caps) {
    if (c.errors.length === 0) continue;
    out.push("", `Errors in ${escapeMarkdown(c.file)}:`, "");
    for (const e of c.errors) out.push(`- ${escapeMarkdown(e)}`);
  }

  out.push("", "---", "", `*${escapeMarkdown(generatorLine(r))}*`);
  if (open) out.push("", "</details>");
  return out.join("\n") + "\n";
}
