/**
 * The HTML report: one self-contained file for people (docs/reports.md, "HTML").
 *
 * It loads nothing: the style and the script are inline and allowed by SHA-256 hash in a
 * Content-Security-Policy meta tag whose default-src is 'none' (assets.ts), the diagram is
 * inline SVG (diagram/), and the data the script needs is a `<script type="application/json">`
 * block, which browsers never run. Every string that came off the wire — SNI, banners, HTTP host and
 * URI, certificate names, DNS names, SSH software, RDP cookie, anomaly messages, file names, role
 * reasons — goes through sanitize.ts's escapeHtml, which also makes control and bidi characters
 * visible, so a hostile capture can neither add markup nor rearrange or hide text. Output depends only on the
 * report (no clock, no randomness), so the same report gives the same bytes.
 */
import { CSP, CSS, JS } from "./assets.js";
import { renderDiagram } from "./diagram/index.js";
import { hostIndex } from "./hosts.js";
import type { MatrixRow } from "../../policy/index.js";
import type { Report } from "../record.js";
import { severityByConversation } from "../view/index.js";
import { shorten, esc, Groups, jsonForScript, type Hosts } from "./cells.js";
import { findingsSection } from "./findings.js";
import { notSeenSection } from "./not-seen.js";
import { firstScreen, header, headline, nav, verdictText } from "./summary.js";
import { capturesSection, conversationsPieces, matrixSection, rolesSection } from "./tables.js";

export { jsonForScript } from "./cells.js";

export interface HtmlOptions {
  /** The matrix rows the report was checked against (shown with what was seen of each). */
  matrixRows?: MatrixRow[];
}


function diagramSection(r: Report, groups: Groups, hosts: Hosts): string {
  const d = renderDiagram(r, esc, (g) => groups.add(g), hosts);
  const legend =
    `<div class="legend"><span><span class="sw s-error"></span>error</span><span><span class="sw s-warning"></span>warning</span>` +
    `<span><span class="sw s-info"></span>info, or no rule matched</span><span><span class="sw s-ok"></span>matched the matrix, no finding</span>` +
    `<span class="muted">Arrows point from client to server; chips are server ports. Click an arrow or a chip to list its conversations.</span></div>`;
  return (
    `<section id="diagram-section"><h2 id="diagram">Roles and ports as observed</h2>` +
    `<div class="diagram">${d.svg}</div>${legend}` +
    d.notes.map((n) => `<p class="muted">${esc(n)}</p>`).join("") +
    `</section>`
  );
}

/** The whole HTML report as one string (UTF-8 when written). Same report, same bytes. */
export function renderHtml(r: Report, o: HtmlOptions = {}): string {
  return [...htmlPieces(r, o)].join("");
}

/**
 * The page in pieces, in order (renderHtml joins them): everything up to the conversations, their
 * rows a slice at a time, then the rest. The CLI writes them one by one, so a report of 30,000
 * conversations is never one string with its copies (issue 19's memory bound).
 */
export function* htmlPieces(r: Report, o: HtmlOptions = {}): Generator<string> {
  const groups = new Groups();
  const sev = severityByConversation(r);
  const byId = new Map(r.conversations.map((c) => [c.id, c]));
  const hosts = hostIndex(r);
  const title = `${verdictText(r)} · ${r.captures.map((c) => c.file).join(", ") || "no capture"} · phoenix-netcheck`;
  // The sections are made in the page's order: the diagram and the findings fill `groups`,
  // which the data script at the end carries.
  const before =
    header(r) +
    nav() +
    `<main>` +
    `<section id="summary">${firstScreen(r, byId, hosts)}${headline(r)}</section>` +
    notSeenSection(r, o.matrixRows, hosts) +
    diagramSection(r, groups, hosts) +
    findingsSection(r, byId, groups, hosts) +
    matrixSection(r, o.matrixRows) +
    rolesSection(r, hosts);
  yield (
    `<!DOCTYPE html>\n<html lang="en" data-verdict="${r.summary.verdict}"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="generator" content="${esc(`${r.generator.name} ${r.generator.version}`)}">` +
    `<title>${esc(shorten(title, 200))}</title><link rel="icon" href="data:,">` +
    `<style>${CSS}</style></head><body>` +
    before
  );
  yield* conversationsPieces(r, sev, hosts);
  const after =
    capturesSection(r) +
    `<footer>Written by ${esc(r.generator.name)} ${esc(r.generator.version)} (${esc(r.schema)}). Times are UTC. ` +
    `This file is self-contained: it loads nothing from the network.</footer>` +
    `</main>`;
  const data = { schema: r.schema, verdict: r.summary.verdict, findings: r.summary.findings, groups: groups.all };
  yield after + `<script type="application/json" id="report-data">${jsonForScript(data)}</script>` + `<script>${JS}</script>` + `</body></html>\n`;
}
