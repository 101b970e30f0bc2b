import { describe, expect, it } from "vitest";
import { keepsTcpFields, Reason, REASON_TEXT } from "../../src/decode/reason.js";

describe("decode failure reasons", () => {
  const values = Object.values(Reason);

  it("every reason has its own message, and only None has none", () => {
    expect(REASON_TEXT.length).toBe(values.length);
    expect(new Set(values).size).toBe(values.length);
    for (const r of values) {
      if (r === Reason.None) expect(REASON_TEXT[r]).toBe("");
      else expect(REASON_TEXT[r]).not.toBe("");
    }
    const texts = values.filter((r) => r !== Reason.None).map((r) => REASON_TEXT[r]);
    expect(new Set(texts).size).toBe(texts.length);
  });

  it("only the TCP failures after the window field keep the segment's fields", () => {
    const keeping = values.filter(keepsTcpFields).map((r) => REASON_TEXT[r]);
    expect(keeping.sort()).toEqual(
      [
        "TCP data offset below 5",
        "TCP data offset past the end of the IP payload",
        "TCP header cut by snaplen after the window field",
        "TCP options cut by snaplen",
        "TCP segment ends inside its 20-byte header",
      ].sort(),
    );
  });
});
