// Endpoints that collide under the conversation hash this project used before issue 19: an
// unkeyed 32-bit FNV-1a over the address bytes and the port (low byte, then high byte), combined
// symmetrically. Every flow from one of these endpoints to one fixed peer had the same hash, so
// they all landed in one bucket chain. Found by meet-in-the-middle: FNV-1a's step
// h' = (h ^ byte) * P is invertible (P is odd), so the state after the first bytes can be met by
// running the last bytes backwards from a target value.
// Used by test/flow/hash-flood.test.ts (a small search) and test/bench/hashflood.mjs (a large one).

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The replaced endpoint hash (src/flow/key.ts before issue 19), kept here as the attack's reference. */
export function oldEndpointHash(ip, len, port) {
  let h = FNV_OFFSET;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ ip[i], FNV_PRIME);
  h = Math.imul(h ^ (port & 0xff), FNV_PRIME);
  h = Math.imul(h ^ (port >>> 8), FNV_PRIME);
  return h >>> 0;
}

/** The replaced symmetric flow hash of (version, protocol, a, b). */
export function oldFlowHash(version, proto, aIp, aPort, bIp, bPort) {
  const len = version === 4 ? 4 : 16;
  const a = oldEndpointHash(aIp, len, aPort);
  const b = oldEndpointHash(bIp, len, bPort);
  return (((a + b) ^ (a ^ b) ^ Math.imul(proto, 0x9e3779b1)) >>> 0) ^ version;
}

/** P^-1 mod 2^32 by Newton's iteration (each step doubles the correct low bits). */
function inverse(p) {
  let x = p;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(p, x));
  return x >>> 0;
}

/**
 * IPv6 addresses fd00::XX:XXXX:XXXX (bytes 10-15 searched) which, with `port`, all share one old
 * endpoint hash `target`. `bits` (≤ 24) of bytes 10-12 are searched forwards and as many of bytes
 * 13-15 backwards; about 2^(2·bits − 32) endpoints are found. Deterministic.
 */
export function collidingV6Endpoints(bits, port, target = 0x5eed1234) {
  const PINV = inverse(FNV_PRIME);
  const n = 2 ** bits;
  const prefix = new Uint8Array(16);
  prefix[0] = 0xfd;
  let h0 = FNV_OFFSET;
  for (let i = 0; i < 10; i++) h0 = Math.imul(h0 ^ prefix[i], FNV_PRIME);
  // Forward: the state after bytes 10, 11, 12 = v >> 16, v >> 8, v (v < 2^bits).
  const forward = (v) => {
    let h = Math.imul(h0 ^ (v >>> 16), FNV_PRIME);
    h = Math.imul(h ^ ((v >>> 8) & 0xff), FNV_PRIME);
    return Math.imul(h ^ (v & 0xff), FNV_PRIME) >>> 0;
  };
  const sorted = new Uint32Array(n);
  for (let v = 0; v < n; v++) sorted[v] = forward(v);
  sorted.sort();
  // Backward: undo the port's two bytes once, then bytes 15, 14, 13 for each suffix u; keep the
  // suffixes whose required middle state some prefix reaches.
  let t = Math.imul(target, PINV) ^ (port >>> 8);
  t = Math.imul(t, PINV) ^ (port & 0xff);
  const wanted = new Map(); // middle state → suffixes u
  for (let u = 0; u < n; u++) {
    let h = Math.imul(t, PINV) ^ (u & 0xff); // before byte 15
    h = Math.imul(h, PINV) ^ ((u >>> 8) & 0xff); // before byte 14
    h = (Math.imul(h, PINV) ^ (u >>> 16)) >>> 0; // before byte 13
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && sorted[lo] === h) {
      const list = wanted.get(h);
      if (list === undefined) wanted.set(h, [u]);
      else list.push(u);
    }
  }
  // Forward again: each prefix that reaches a wanted state pairs with its suffixes.
  const found = [];
  for (let v = 0; v < n; v++) {
    const us = wanted.get(forward(v));
    if (us === undefined) continue;
    for (const u of us) {
      const ip = prefix.slice();
      ip[10] = v >>> 16;
      ip[11] = (v >>> 8) & 0xff;
      ip[12] = v & 0xff;
      ip[13] = u >>> 16;
      ip[14] = (u >>> 8) & 0xff;
      ip[15] = u & 0xff;
      found.push(ip);
    }
  }
  return found;
}
