/**
 * The HTML report's diagram: hosts and ports *as observed*, as inline SVG.
 *
 * Layout is computed here, deterministically, from the report alone (no layout engine, no
 * randomness, no measuring in the browser):
 *   - up to three columns: hosts that only opened conversations (left), the proxy — or, with no
 *     proxy known, the host with the most peers — (middle), and every other host that answered
 *     at least one conversation (right). With no pure clients the proxy is the left column.
 *   - within a column, hosts are ordered by role (proxy, vcenter, esxi, …, no role) then address.
 *   - conversations are aggregated per (client, server, transport, server port): one coloured
 *     chip per port, placed in front of the server's box on the side the client is on; one arrow
 *     per (client, server) pair, coloured by the worst of its ports.
 *   - more than MAX_HOSTS hosts: the proxy, then the hosts with roles, findings and most
 *     conversations are drawn, the rest share one "N other hosts" box.
 * Every string is escaped (addresses and roles come from the report, which may be hostile).
 *
 * graph.ts builds the model (hosts, hub, "other" box, pairs and port groups), layout.ts places
 * it, svg.ts draws it.
 */
import type { HostFacts } from "../hosts.js";
import type { Report } from "../../record.js";
import { buildGraph } from "./graph.js";
import { layoutGraph } from "./layout.js";
import { drawGraph, type ConvGroup } from "./svg.js";

export { MAX_HOSTS } from "./graph.js";
export { MAX_CHIPS } from "./layout.js";
export type { ConvGroup } from "./svg.js";

export interface Diagram {
  /** The <svg> element (or a short paragraph when there is nothing to draw). */
  svg: string;
  /** Click targets: group id → conversation ids, with a label for the filter bar. */
  groups: Record<string, ConvGroup>;
  /** Sentences to print under the diagram (what was grouped or left out). */
  notes: string[];
}

/**
 * Lay out and draw the diagram. `esc` escapes text for HTML/SVG (the caller's, so wire text is
 * treated the same way everywhere); `groupId` registers a click target and returns its id.
 */
export function renderDiagram(r: Report, esc: (s: string) => string, groupId: (g: ConvGroup) => string, facts: Map<string, HostFacts> = new Map()): Diagram {
  if (r.conversations.length === 0) {
    return { svg: `<p class="empty">No TCP or UDP conversation in the capture: nothing to draw.</p>`, groups: {}, notes: [] };
  }
  const graph = buildGraph(r);
  const layout = layoutGraph(graph, facts);
  const { svg, groups } = drawGraph(graph, layout, esc, groupId, facts);
  return { svg, groups, notes: graph.notes };
}
