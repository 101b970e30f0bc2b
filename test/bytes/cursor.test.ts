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

  it("uint reads big-endian of the given width; bytes copies, view does not", () => {
    const c = new Cursor(Uint8Array.of(0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb, 0xcc));
    expect(c.uint(4)).toBe(0x100);
    expect(c.uint(3)).toBe(0);
    expect(c.uint(1)).toBe(2);
    expect(c.uint(1)).toBe(0xaa);
    const v = c.view(1)!;
    const copy = new Cursor(c.buf, 8).bytes(2)!;
    expect(v[0]).toBe(0xbb);
    c.buf[9] = 0x11; // the view sees the change, the copy does not
    expect(v[0]).toBe(0x11);
    expect(copy[1]).toBe(0xbb);
    expect(c.bytes(2)).toBeNull();
    expect(c.view(2)).toBeNull();
    expect(c.ok).toBe(false);
    expect(c.uint(1)).toBe(0xcc);
  });

  it("u16le and u32le read little-endian", () => {
    const c = new Cursor(Uint8Array.of(0x01, 0x02, 0x03, 0x04, 0x05, 0xff));
    expect(c.u16le()).toBe(0x0201);
    expect(c.u32le()).toBe(0xff050403); // unsigned, though the top bit is set
    expect(c.u16le()).toBe(-1);
    expect(c.ok).toBe(false);
  });

  it("sub bounds an inner cursor to n bytes and steps over them", () => {
    const c = new Cursor(b, 1);
    const inner = new Cursor();
    expect(c.sub(2, inner)).toBe(true);
    expect(c.pos).toBe(3);
    expect(inner.u16()).toBe(0x0203);
    expect(inner.u8()).toBe(-1); // the outer bytes are not the inner cursor's
    expect(inner.ok).toBe(false);
    expect(c.ok).toBe(true);
    expect(c.sub(5, inner)).toBe(false);
    expect(c.pos).toBe(3);
    expect(inner.left).toBe(0);
  });
});
