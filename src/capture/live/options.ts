/**
 * The live capture's option values: durations and sizes as people write them.
 */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "10m", "1h", "1h30m", "1500ms", or a bare number of seconds → milliseconds; null if bad. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t) * 1000;
    return n > 0 ? n : null;
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    at = re.lastIndex;
  }
  if (at !== t.length || at === 0 || !(total > 0)) return null;
  return total;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1 << 20, mb: 1 << 20, mib: 1 << 20, g: 1 << 30, gb: 1 << 30, gib: 1 << 30,
};

/** "64MiB", "64m", "512k", "1048576" → bytes (binary units); null if bad. */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!m) return null;
  const mul = SIZE_UNITS[m[2].toLowerCase()];
  if (mul === undefined) return null;
  const n = Math.floor(Number(m[1]) * mul);
  return n > 0 ? n : null;
}
