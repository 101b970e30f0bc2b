/**
 * The captures as every format shows them: format, link types, packets, first and last packet,
 * errors, and the sentence saying the conversation limit was reached (flowLimitText).
 */
import type { CaptureRecord, Report } from "../record.js";
import { clip, MAX_CAPTURE_ERRORS, num, plural } from "./format.js";

export interface CaptureView {
  file: string;
  /** "pcapng", "pcap (gzip)". */
  format: string;
  /** "link types 1, 113". */
  linkTypes: string;
  packets: string;
  bytes: string;
  /** "2026-11-25 10:46:18.873690 UTC", or "no packet". */
  first: string;
  last: string;
  /** First and last packet for people: both times, or one when they are the same ("no packet"). */
  span: string[];
  /** One line per error: "frame 12 at offset 1234: message (reading stopped here)". */
  errors: string[];
}

/** "2026-11-25 10:47:04.785189 UTC": nanoseconds only when the capture has them. */
function timeText(iso: string | null): string {
  if (!iso) return "no packet";
  return `${iso.replace("T", " ").replace(/(\.\d{6})000Z$/, "$1").replace(/Z$/, "")} UTC`;
}

/** "conversation limit 3 reached: 10 seen, 3 listed, 7 folded into 2 aggregate entries", or null when the limit was not hit. */
export function flowLimitText(c: CaptureRecord): string | null {
  const flow = c.flow;
  if (!flow?.limitHit) return null;
  return (
    `conversation limit ${num(flow.maxConversations)} reached: ${num(flow.conversations)} seen, ${num(flow.listed)} listed, ` +
    `${num(flow.aggregated)} folded into ${plural(flow.aggregates, "aggregate entry", "aggregate entries")}`
  );
}

export function captureView(c: CaptureRecord): CaptureView {
  const errors = c.errors.slice(0, MAX_CAPTURE_ERRORS).map(
    // Reader messages usually start with "frame N at offset M:" already; say it once.
    (e) =>
      `${e.message.startsWith(`frame ${e.frame}`) ? "" : `frame ${e.frame}, offset ${num(e.offset)}: `}${clip(e.message)}` +
      (e.fatal ? " (reading stopped here)" : ""),
  );
  if (c.errors.length > MAX_CAPTURE_ERRORS) errors.push(`… ${plural(c.errors.length - MAX_CAPTURE_ERRORS, "more error")} (--format json lists them)`);
  const unlisted = c.decode?.errorsNotListed ?? 0;
  if (unlisted > 0) errors.push(`${plural(unlisted, "more decode error")} counted, not listed`);
  const limit = flowLimitText(c);
  if (limit) errors.push(limit);
  return {
    file: c.file,
    format: c.compressed ? `${c.format} (gzip)` : c.format,
    linkTypes: `${c.linkTypes.length === 1 ? "link type" : "link types"} ${c.linkTypes.join(", ") || "none"}`,
    packets: plural(c.packets, "packet"),
    bytes: plural(c.bytes, "byte"),
    first: timeText(c.firstTimestamp),
    last: timeText(c.lastTimestamp),
    span: c.firstTimestamp === c.lastTimestamp ? [timeText(c.firstTimestamp)] : [timeText(c.firstTimestamp), timeText(c.lastTimestamp)],
    errors,
  };
}

export function captureViews(r: Report): CaptureView[] {
  return r.captures.map(captureView);
}
