/**
 * The small formatters every report format shares (terminal table, Markdown, HTML): numbers,
 * plurals, durations, number runs, clipped wire strings, addresses with ports. Plain unescaped
 * strings: every renderer escapes what it takes from here at the point of output (sanitize.ts).
 */

/** Other conversations listed at most; the rest are counted (the JSON report lists them all). */
export const MAX_OTHER_CONVERSATIONS = 200;
/** Capture errors listed at most per capture. */
export const MAX_CAPTURE_ERRORS = 20;
/** Numbers (frames, conversation ids) listed at most in one compact list. */
export const MAX_LISTED = 30;
/** Wire strings (banners, URIs, anomaly messages) are cut to this many characters. */
export const MAX_WIRE_TEXT = 160;

/** 1234567 → "1,234,567" (no locale: the output must not depend on the machine). */
export function num(n: number): string {
  const s = String(Math.trunc(Math.abs(n)));
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (n < 0 ? "-" : "") + grouped;
}

/** "1 conversation", "2 conversations"; the plural is the word + "s" unless given. */
export function plural(n: number, word: string, many = word + "s"): string {
  return `${num(n)} ${n === 1 ? word : many}`;
}

/** Seconds for people: "0.009 s", "12.4 s", "3 min 12 s", "2 h 05 min", "217 days". */
export function duration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return "0 s";
  if (sec < 10) return `${sec.toFixed(3)} s`;
  if (sec < 60) return `${sec.toFixed(1)} s`;
  const total = Math.round(sec);
  if (total < 3600) return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, "0")} s`;
  if (total >= 2 * 86400) return `${num(Math.round(total / 86400))} days`;
  const min = Math.round(total / 60);
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, "0")} min`;
}

/**
 * Numbers as runs: [12, 15, 18, 19, 20] → "12, 15, 18–20" (three or more consecutive numbers are a
 * range). At most `max` items are written, then "… (N in all)".
 */
export function compactNumbers(values: readonly number[], max = MAX_LISTED): string {
  const v = [...new Set(values)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < v.length) {
    let j = i;
    while (j + 1 < v.length && v[j + 1] === v[j] + 1) j++;
    if (j - i >= 2) parts.push(`${v[i]}–${v[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(v[k]));
    i = j + 1;
  }
  if (parts.length <= max) return parts.join(", ");
  return `${parts.slice(0, max).join(", ")}, … (${num(v.length)} in all)`;
}

/** "frames 12, 15, 18–20", "frame 7", or null for none. */
export function framesText(frames: readonly number[]): string | null {
  if (frames.length === 0) return null;
  return `${frames.length === 1 ? "frame" : "frames"} ${compactNumbers(frames)}`;
}

/** A wire string cut to `max` characters (code points), saying how much was left out. */
export function clip(s: string, max = MAX_WIRE_TEXT): string {
  const cps = [...s];
  if (cps.length <= max) return s;
  return `${cps.slice(0, max).join("")}… (${num(cps.length - max)} more characters)`;
}

/** "10.0.0.5:443", "[fd77::20]:443". */
export function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** "10.0.0.5:51234 (proxy)" or without the role when none is known. */
export function endpointText(e: { ip: string; port: number; role: string | null }): string {
  return e.role ? `${hostPort(e.ip, e.port)} (${e.role})` : hostPort(e.ip, e.port);
}

/** "TCP 902". */
export function portText(transport: string, port: number | string): string {
  return `${transport.toUpperCase()} ${port}`;
}


/** "SF ×2, S0" — distinct values with counts, in order of first appearance. */
export function counted(values: readonly string[]): string {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].map(([v, n]) => (n > 1 ? `${v} ×${n}` : v)).join(", ");
}

export function distinct(values: readonly (string | null | undefined)[], max = 3): string[] {
  const u = [...new Set(values.filter((v): v is string => typeof v === "string" && v.length > 0))];
  return u.length <= max ? u : [...u.slice(0, max), `… (${u.length} in all)`];
}

/** Sort key for an address: IPv4 numerically, then IPv6 as text (RFC 5952 text sorts well enough). */
export function addressSortKey(ip: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (m) return "4:" + m.slice(1).map((o) => o.padStart(3, "0")).join(".");
  return "6:" + ip;
}
