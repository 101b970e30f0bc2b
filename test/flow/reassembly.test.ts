import { describe, it, expect } from "vitest";
import { StreamBuffer, MAX_FRAME_RUNS } from "../../src/flow/tcp/stream-buffer.js";

/** Bytes 0..n-1 of a made-up stream: byte i is (i*13 + 5) mod 256, so every offset is checkable. */
function stream(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + 5) & 0xff;
  return b;
}

/** Offer stream bytes [a, b) of `src` at offset a, from `frame`. */
function put(sb: StreamBuffer, src: Uint8Array, a: number, b: number, frame: number): void {
  sb.add(a, src, a, b - a, 0, frame);
}

describe("StreamBuffer", () => {
  it("allocates nothing before the first byte, then grows geometrically and never past cap", () => {
    const sb = new StreamBuffer(4096);
    expect(sb.allocatedBytes).toBe(0);
    expect(sb.bytes().length).toBe(0);
    const src = stream(5000);
    put(sb, src, 0, 10, 1);
    const small = sb.allocatedBytes;
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThan(1024); // not the whole cap for 10 bytes
    put(sb, src, 10, 5000, 2);
    expect(sb.bytes()).toEqual(src.subarray(0, 4096));
    expect(sb.done).toBe(true);
    expect(sb.gap).toBe(false);
    expect(sb.allocatedBytes).toBeLessThanOrEqual(4096 + 4096 / 8 + MAX_FRAME_RUNS * 12);
  });

  it("copies the bytes (the caller's buffer may be reused)", () => {
    const sb = new StreamBuffer(100);
    const src = stream(20);
    put(sb, src, 0, 20, 1);
    src.fill(0);
    expect(sb.bytes()).toEqual(stream(20));
  });

  it("holds bytes beyond a hole and places them when it fills", () => {
    const sb = new StreamBuffer(1000);
    const src = stream(300);
    put(sb, src, 200, 300, 3);
    put(sb, src, 0, 100, 1);
    expect(sb.length).toBe(100);
    expect(sb.heldBytes).toBe(100);
    put(sb, src, 100, 200, 2);
    expect(sb.bytes()).toEqual(src);
    expect(sb.heldBytes).toBe(0);
    expect(sb.frameAt(50)).toBe(1);
    expect(sb.frameAt(100)).toBe(2);
    expect(sb.frameAt(299)).toBe(3);
    expect(sb.frameAt(300)).toBe(0);
    expect(sb.frameAt(-1)).toBe(0);
  });

  it("first copy wins: retransmitted and overlapping bytes never replace kept ones", () => {
    const sb = new StreamBuffer(1000);
    const a = stream(100);
    const b = new Uint8Array(200).fill(0x99);
    put(sb, a, 0, 50, 1);
    put(sb, a, 60, 100, 2); // held beyond the hole [50, 60)
    sb.add(0, b, 0, 200, 0, 3); // covers everything with different bytes
    const got = sb.bytes();
    expect(got.length).toBe(200);
    expect(got.subarray(0, 50)).toEqual(a.subarray(0, 50));
    expect(got.subarray(50, 60)).toEqual(b.subarray(50, 60)); // only the hole took the new copy
    expect(got.subarray(60, 100)).toEqual(a.subarray(60, 100));
    expect(got.subarray(100, 200)).toEqual(b.subarray(100, 200));
    expect(sb.duplicateBytes).toBe(90);
    expect(sb.frameAt(55)).toBe(3);
    expect(sb.frameAt(70)).toBe(2);
    expect(sb.frameAt(150)).toBe(3);
  });

  it("is done once the FIN offset is reached with everything before it in", () => {
    const sb = new StreamBuffer(1000);
    const src = stream(30);
    put(sb, src, 0, 10, 1);
    sb.setEnd(30);
    expect(sb.done).toBe(false);
    put(sb, src, 20, 30, 3);
    expect(sb.done).toBe(false);
    put(sb, src, 10, 20, 2);
    expect(sb.done).toBe(true);
    expect(sb.gap).toBe(false);
    expect(sb.bytes()).toEqual(src);
  });

  it("a FIN beyond the kept bytes means missing data; a RST's sequence number is not trusted for that", () => {
    const src = stream(10);
    const fin = new StreamBuffer(1000);
    put(fin, src, 0, 10, 1);
    fin.setEnd(20); // FIN says 20 bytes were sent
    fin.finish();
    expect(fin.gap).toBe(true);
    const rst = new StreamBuffer(1000);
    put(rst, src, 0, 10, 1);
    rst.setEnd(20, false); // a RST with an odd sequence number
    rst.finish();
    expect(rst.gap).toBe(false);
    expect(rst.done).toBe(true);
  });

  it("gapUpTo: an acknowledged hole ends the prefix and marks a gap", () => {
    const sb = new StreamBuffer(1000);
    const src = stream(30);
    put(sb, src, 0, 10, 1);
    put(sb, src, 20, 30, 3);
    sb.gapUpTo(10); // nothing missing below 10
    expect(sb.done).toBe(false);
    sb.gapUpTo(30);
    expect(sb.gap).toBe(true);
    expect(sb.done).toBe(true);
    expect(sb.bytes().length).toBe(10);
    put(sb, src, 10, 20, 2); // too late: done
    expect(sb.bytes().length).toBe(10);
  });

  it("finish(): an open hole becomes a gap; a clean stream is done without one", () => {
    const holed = new StreamBuffer(1000);
    const src = stream(40);
    put(holed, src, 0, 10, 1);
    put(holed, src, 30, 40, 2);
    holed.finish();
    expect(holed.gap).toBe(true);
    expect(holed.done).toBe(true);

    const clean = new StreamBuffer(1000);
    put(clean, src, 0, 40, 1);
    clean.finish();
    expect(clean.gap).toBe(false);
    expect(clean.done).toBe(true);

    // Missing tail bytes (snap length) are a hole too, even beyond what was captured.
    const cut = new StreamBuffer(1000);
    cut.add(0, src, 0, 10, 20, 1);
    cut.finish();
    expect(cut.gap).toBe(true);
  });

  it("keeps nothing beyond the cap window and holds at most cap bytes", () => {
    const sb = new StreamBuffer(100);
    const src = stream(500);
    put(sb, src, 150, 500, 1);
    expect(sb.allocatedBytes).toBe(0);
    put(sb, src, 50, 150, 2); // only 50..99 is inside the window
    expect(sb.heldBytes).toBe(50);
    expect(sb.allocatedBytes).toBeLessThanOrEqual(100 + 13 + MAX_FRAME_RUNS * 12);
    put(sb, src, 0, 50, 3);
    expect(sb.bytes()).toEqual(src.subarray(0, 100));
    expect(sb.done).toBe(true);
  });

  it("the frame map is bounded: past MAX_FRAME_RUNS runs, frameAt answers 0", () => {
    const sb = new StreamBuffer(10000);
    const src = stream(1000);
    for (let i = 0; i < 1000; i++) put(sb, src, i, i + 1, 100 + i);
    expect(sb.bytes()).toEqual(src);
    expect(sb.frameAt(0)).toBe(100);
    expect(sb.frameAt(MAX_FRAME_RUNS - 1)).toBe(100 + MAX_FRAME_RUNS - 1);
    expect(sb.frameAt(MAX_FRAME_RUNS)).toBe(0);
    // Consecutive segments of one frame (e.g. a jumbo frame split) stay one run.
    const one = new StreamBuffer(1000);
    for (let i = 0; i < 500; i++) put(one, src, i, i + 1, 7);
    expect(one.frameAt(499)).toBe(7);
  });

  it("a zero cap keeps nothing and is done from the start", () => {
    const sb = new StreamBuffer(0);
    expect(sb.done).toBe(true);
    put(sb, stream(10), 0, 10, 1);
    expect(sb.bytes().length).toBe(0);
    expect(sb.allocatedBytes).toBe(0);
  });

  it("never reads past the source buffer", () => {
    const sb = new StreamBuffer(100);
    const src = stream(10);
    sb.add(0, src, 5, 50, 0, 1); // claims 50 bytes from offset 5 of a 10-byte buffer
    expect(sb.bytes()).toEqual(src.subarray(5, 10));
  });

  it("what a long connection keeps does not grow with it (1M in-order segments, 10 bytes each)", () => {
    // Counted, not timed: after the cap every segment is past the kept prefix, so the buffer, its
    // bitmap and its frame map stay the size they had at the cap, and frames past it answer 0.
    const sb = new StreamBuffer(16384);
    const src = stream(10);
    for (let i = 0; i < 2000; i++) sb.add(i * 10, src, 0, 10, 0, i + 1);
    const atCap = sb.allocatedBytes;
    expect(sb.length).toBe(16384);
    for (let i = 2000; i < 1_000_000; i++) sb.add(i * 10, src, 0, 10, 0, i + 1);
    expect(sb.bytes().length).toBe(16384);
    expect(sb.allocatedBytes).toBe(atCap);
    // The frame map holds its first MAX_FRAME_RUNS runs (one a segment here) and no more.
    expect(sb.frameAt(0)).toBe(1);
    expect(sb.frameAt(MAX_FRAME_RUNS * 10 - 1)).toBe(MAX_FRAME_RUNS);
    expect(sb.frameAt(MAX_FRAME_RUNS * 10)).toBe(0);
    expect(sb.frameAt(5_000_000)).toBe(0);
  });
});
