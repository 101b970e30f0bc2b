import { describe, expect, it } from "vitest";
import { Cursor } from "../../src/bytes/cursor.js";

describe("Cursor", () => {
  const b = Uint8Array.of(0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07);

  it("reads big-endian integers forward", () => {
    const c = new Cursor(b);
    expect(c.u8()).toBe(0x01);
    expect(c.u16()).toBe(0x0203);
    expect(c.u32()).toBe(0x04050607);
    expect(c.left).toBe(0);
    expect(c.short).toBe(false);
  });

  it("a read past the end returns -1, does not move, and marks the cursor short", () => {
    const c = new Cursor(b, 5);
    expect(c.u32()).toBe(-1);
    expect(c.pos).toBe(5);
    expect(c.short).toBe(true);
    expect(c.u16()).toBe(0x0607); // what fits still reads
    expect(c.u8()).toBe(-1);
    expect(c.skip(1)).toBe(false);
  });

  it("never reads past the given end, even inside the buffer", () => {
    const c = new Cursor(b, 1, 3);
    expect(c.u24()).toBe(-1);
    expect(c.u16()).toBe(0x0203);
    expect(c.peek()).toBe(-1);
  });

  it("reset reuses one cursor and clamps the range", () => {
    const c = new Cursor();
    expect(c.u8()).toBe(-1);
    c.reset(b, 6, 100);
    expect(c.short).toBe(false);
    expect(c.left).toBe(1);
    expect(c.u8()).toBe(0x07);
    c.reset(b, -5);
    expect(c.pos).toBe(0);
    expect(c.u32()).toBe(0x01020304);
  });

  it("peek and indexOf look ahead without moving", () => {
    const c = new Cursor(b, 2);
    expect(c.peek(1)).toBe(0x04);
    expect(c.indexOf(0x06)).toBe(5);
    expect(c.indexOf(0x06, 2)).toBe(-1);
    expect(c.pos).toBe(2);
  });
});
