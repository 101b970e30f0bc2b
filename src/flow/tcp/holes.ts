/**
 * The holes of one TCP direction: stream ranges below the highest byte seen whose bytes were
 * never captured, ascending, at most MAX_HOLES, each with the bytes it still misses. The tracker
 * (tracker.ts) adds them as segments skip ahead, fills them as late segments arrive, and turns
 * them into gaps when an ACK passes them or the conversation ends (Zeek's TCP_Reassembler keeps
 * the same ranges as its undelivered blocks).
 */
/**
 * Holes tracked per direction; past this the two closest are merged into one (whose bytes in
 * between were seen), so a late segment is still known to fill a hole, never written off.
 */
export const MAX_HOLES = 16;
/** Bytes counted for one endpoint's hole lists once allocated: three arrays of up to MAX_HOLES + 1 doubles and their headers (a HoleList). */
export const HOLE_LIST_BYTES = 3 * (16 + 8 * (MAX_HOLES + 1));

export class HoleList {
  /** Start and end (stream offsets) of each hole, ascending. */
  readonly start: number[] = [];
  readonly end: number[] = [];
  /**
   * Bytes of each hole not received yet: its length, or less for a hole merged from two (the
   * bytes seen between them are inside it, and where they are is no longer known).
   */
  readonly miss: number[] = [];

  get length(): number {
    return this.start.length;
  }

  clear(): void {
    this.start.length = this.end.length = this.miss.length = 0;
  }

  /** Forget the first `k` holes (an ACK passed them). */
  dropFirst(k: number): void {
    if (k <= 0) return;
    this.start.splice(0, k);
    this.end.splice(0, k);
    this.miss.splice(0, k);
  }

  /** Remove [a, b) from the list (bytes that arrived late); returns how many missing bytes it filled. */
  fill(a: number, b: number): number {
    const hs = this.start;
    const he = this.end;
    const hm = this.miss;
    if (b <= a) return 0;
    let filled = 0;
    for (let k = 0; k < hs.length; k++) {
      const h0 = hs[k];
      const h1 = he[k];
      if (h0 >= b) break;
      if (h1 <= a) continue;
      const lo = a > h0 ? a : h0;
      const hi = b < h1 ? b : h1;
      if (hm[k] === h1 - h0) {
        // An exact hole: every byte of it is missing.
        filled += hi - lo;
        if (lo === h0 && hi === h1) {
          hs.splice(k, 1);
          he.splice(k, 1);
          hm.splice(k, 1);
          k--;
        } else if (lo === h0) {
          hs[k] = hi;
          hm[k] = h1 - hi;
        } else if (hi === h1) {
          he[k] = lo;
          hm[k] = lo - h0;
        } else {
          // Filled the middle: split into two holes.
          he[k] = lo;
          hm[k] = lo - h0;
          hs.splice(k + 1, 0, hi);
          he.splice(k + 1, 0, h1);
          hm.splice(k + 1, 0, h1 - hi);
          k++;
        }
      } else {
        // A merged hole: which of its bytes were seen is not known, so the overlap fills as many
        // as it still misses (a late segment counts as out-of-order, never as a retransmission).
        const f = Math.min(hi - lo, hm[k]);
        filled += f;
        hm[k] -= f;
        if (lo === h0) hs[k] = hi;
        else if (hi === h1) he[k] = lo;
        if (hm[k] > he[k] - hs[k]) hm[k] = he[k] - hs[k];
        if (hm[k] <= 0) {
          hs.splice(k, 1);
          he.splice(k, 1);
          hm.splice(k, 1);
          k--;
        }
      }
    }
    // After the loop: merging shifts the list, which would upset the index above.
    if (hs.length > MAX_HOLES) this.merge();
    return filled;
  }

  /** [a, b) was skipped (not captured, or cut by the snap length), at or above every hole. */
  add(a: number, b: number): void {
    if (b <= a) return;
    const hs = this.start;
    const he = this.end;
    const hm = this.miss;
    const n = hs.length;
    if (n > 0 && he[n - 1] === a) {
      he[n - 1] = b;
      hm[n - 1] += b - a;
    } else {
      hs.push(a);
      he.push(b);
      hm.push(b - a);
    }
    if (hs.length > MAX_HOLES) this.merge();
  }

  /**
   * Keep at most MAX_HOLES holes: the two with the fewest seen bytes between them become one.
   * Nothing is written off (issue 19: a shuffled stream of a million segments had its late ones
   * counted as retransmissions once the lowest holes were dropped); gaps are declared only when
   * an ACK passes a hole or at finish(), with the bytes still missing.
   */
  private merge(): void {
    const hs = this.start;
    const he = this.end;
    const hm = this.miss;
    while (hs.length > MAX_HOLES) {
      let best = 0;
      for (let k = 1; k + 1 < hs.length; k++) if (hs[k + 1] - he[k] < hs[best + 1] - he[best]) best = k;
      he[best] = he[best + 1];
      hm[best] += hm[best + 1];
      hs.splice(best + 1, 1);
      he.splice(best + 1, 1);
      hm.splice(best + 1, 1);
    }
  }
}
