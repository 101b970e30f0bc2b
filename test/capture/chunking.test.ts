/**
 * Streaming: whatever the chunking (one byte at a time, seeded random sizes, one big append),
 * the readers give the same packets, timestamps, frame numbers and errors.
 */
import { describe, expect, it } from "vitest";
import { ChunkQueue } from "../../src/capture/reader/queue.js";
import { createReader } from "../../src/capture/reader/sniff.js";
import { readAll, rng } from "./build.js";
import { variants } from "./variants.js";

describe("readers give the same result for any chunking", () => {
  for (const v of variants()) {
    it(v.name, () => {
      const make = () => createReader(v.format);
      const whole = readAll(make, v.bytes);
      // Sanity: every variant delivers something, so the comparison below is not vacuous.
      expect(whole.packets.length).toBeGreaterThan(0);

      const oneByte = readAll(make, v.bytes, () => 1);
      expect(oneByte).toEqual(whole);

      for (const seed of [1, 2, 3, 4, 5]) {
        const rand = rng(seed);
        const random = readAll(make, v.bytes, () => 1 + Math.floor(rand() * 97));
        expect(random).toEqual(whole);
      }
    });
  }

  it("the damaged variants do report errors (so equality above covers them)", () => {
    for (const v of variants().filter((x) => /truncated|corrupt|bad|multiple/.test(x.name))) {
      expect(readAll(() => createReader(v.format), v.bytes).errors.length, v.name).toBeGreaterThan(0);
    }
  });
});

describe("ChunkQueue", () => {
  it("peeks across chunk boundaries into the carry-over buffer and borrows within one chunk", () => {
    const q = new ChunkQueue();
    const a = Uint8Array.of(1, 2, 3);
    const b = Uint8Array.of(4, 5);
    const c = Uint8Array.of(6, 7, 8, 9);
    q.push(a);
    q.push(b);
    q.push(c);
    expect(q.available).toBe(9);
    // Inside the first chunk: the chunk itself comes back (no copy).
    expect(q.peek(0, 2)).toBe(a);
    // Across all three chunks.
    const buf = q.peek(1, 7);
    expect(Array.from(buf.subarray(q.off, q.off + 7))).toEqual([2, 3, 4, 5, 6, 7, 8]);
    q.skip(5);
    expect(q.consumed).toBe(5);
    expect(q.available).toBe(4);
    expect(q.peek(0, 4)).toBe(c);
    expect(q.off).toBe(0);
  });
});
