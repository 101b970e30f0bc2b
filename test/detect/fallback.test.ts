import { describe, expect, it } from "vitest";
import { plaintextDetector } from "../../src/detect/fallback.js";
import { TEXT_THRESHOLD, TEXT_WINDOW, isMostlyText, textRatio } from "../../src/detect/text.js";
import { detect } from "../../src/detect/registry.js";
import { bytes, randomBytes, rng, tcp, udp } from "./sample.js";

describe("fallback detectors", () => {
  it("plaintext: an SMTP greeting, with the server's first line as banner", () => {
    const f = detect(tcp(bytes("EHLO proxy01\r\n"), bytes("220 mail.example.com ESMTP Postfix\r\n250-mail.example.com\r\n"), { serverPort: 25 }));
    expect(f.protocol).toBe("plaintext");
    expect(f.banner).toBe("220 mail.example.com ESMTP Postfix");
  });

  it("plaintext: the first speaker decides (IRC before STARTTLS)", () => {
    const f = detect(tcp(bytes("NICK a\r\nUSER a 0 * :a\r\n"), bytes(0x16, 0x03, 0x03, 0x00, 0x10), { serverPort: 6667, firstSpeaker: "client" }));
    expect(f.protocol).toBe("plaintext");
    expect(f.banner).toBe("NICK a"); // the server's bytes are not text, so the client's line
  });

  it("plaintext: a text command line followed by binary (STARTTLS, then a ClientHello)", () => {
    const client = bytes("STARTTLS\r\n", 0x16, 0x03, 0x01, 0x01, 0x38, 0x01, new Array<number>(200).fill(0xc0));
    expect(detect(tcp(client, bytes(":irc.example.org 670 :STARTTLS successful\r\n"), { serverPort: 6667 })).protocol).toBe("plaintext");
    // A first "line" of 3 bytes is too short to count on its own.
    expect(detect(tcp(bytes("ab\n", new Array<number>(100).fill(0)), new Uint8Array(0))).protocol).toBe("unknown");
  });

  it("unknown: binary payload no detector knows", () => {
    const f = detect(tcp(randomBytes(rng(7), 200), new Uint8Array(0), { serverPort: 7000 }));
    expect(f.protocol).toBe("unknown");
    expect(f.banner).toBeNull();
  });

  it("none: no payload either way, TCP or UDP", () => {
    expect(detect(tcp(new Uint8Array(0), new Uint8Array(0), { serverPort: 443 })).protocol).toBe("none");
    expect(detect(udp([[true, new Uint8Array(0)]], { serverPort: 123 })).protocol).toBe("none");
    expect(detect(udp([], { serverPort: 53 })).protocol).toBe("none");
  });

  it("the text threshold is 90 % of the first 128 bytes", () => {
    expect(TEXT_WINDOW).toBe(128);
    expect(TEXT_THRESHOLD).toBe(0.9);
    // 116 letters + 12 NULs = 90.6 % text; 115 + 13 = 89.8 %.
    const at = (good: number) => bytes("a".repeat(good), new Array<number>(128 - good).fill(0));
    expect(isMostlyText(at(116))).toBe(true);
    expect(isMostlyText(at(115))).toBe(false);
    // Bytes after the window do not count.
    expect(isMostlyText(bytes("a".repeat(128), new Array<number>(500).fill(0)))).toBe(true);
  });

  it("well-formed UTF-8 counts as text, lone high bytes do not", () => {
    const utf8 = Uint8Array.from(Buffer.from("Grüße aus Köln — ünïcödé tëxt\r\n", "utf8"));
    expect(textRatio(utf8)).toBe(1);
    const latin1 = bytes("Gr", 0xfc, 0xdf, "e"); // ü ß in Latin-1: not valid UTF-8
    expect(textRatio(latin1)).toBe(3 / 5);
  });

  it("random bytes are far below the threshold", () => {
    const next = rng(42);
    let max = 0;
    for (let i = 0; i < 200; i++) max = Math.max(max, textRatio(randomBytes(next, 128)));
    expect(max).toBeLessThan(0.75); // mean about 0.4
    expect(plaintextDetector.probe(udp([[true, randomBytes(next, 64)]]))).toBe("no");
  });
});
