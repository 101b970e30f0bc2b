/**
 * Address formatting as tshark prints addresses: dotted-quad IPv4, RFC 5952 IPv6 (lower-case hex,
 * leading zeros dropped, the longest run of two or more zero groups — the first on a tie —
 * shortened to "::", IPv4-mapped addresses ending in dotted-quad), colon-separated MACs.
 * Used when a report is written, never per packet.
 */

export function formatIpv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function formatIpv6(b: Uint8Array, off = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  // RFC 5952 §5: ::ffff:a.b.c.d for IPv4-mapped addresses.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(b, off + 12)}`;
  }
  // RFC 5952 §4.2: find the longest run (length ≥ 2) of zero groups, first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number) => g.toString(16);
  if (bestStart < 0) return groups.map(hex).join(":");
  const head = groups.slice(0, bestStart).map(hex).join(":");
  const tail = groups.slice(bestStart + bestLen).map(hex).join(":");
  return `${head}::${tail}`;
}

export function formatIp(b: Uint8Array, version: 4 | 6): string {
  return version === 4 ? formatIpv4(b) : formatIpv6(b);
}

export function formatMac(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[i].toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** Parse a dotted IPv4 or RFC 4291 IPv6 text address into 16 bytes (IPv4 in the first 4); null if invalid. */
export function parseIp(text: string): { version: 4 | 6; bytes: Uint8Array } | null {
  const bytes = new Uint8Array(16);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    for (let i = 0; i < 4; i++) {
      const n = Number(v4[i + 1]);
      if (n > 255) return null;
      bytes[i] = n;
    }
    return { version: 4, bytes };
  }
  if (!text.includes(":")) return null;
  let s = text.toLowerCase();
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const tailV4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (tailV4) {
    const q = tailV4.slice(1).map(Number);
    if (q.some((n) => n > 255)) return null;
    s = s.slice(0, tailV4.index) + ((q[0] << 8) | q[1]).toString(16) + ":" + ((q[2] << 8) | q[3]).toString(16);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (h: string) => (h === "" ? [] : h.split(":"));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const groups = [...head, ...new Array(8 - total).fill("0"), ...tail];
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-f]{1,4}$/.test(groups[i])) return null;
    const g = parseInt(groups[i], 16);
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  }
  return { version: 6, bytes };
}
