import { describe, expect, it } from "vitest";
import { isGrease, isGreaseAlpn, ja3, ja3s, ja4, ja4Variants } from "../../src/detect/tls/index.js";
import type { ParsedClientHello, ParsedServerHello } from "../../src/detect/tls/index.js";

const hex = (list: string) => list.split(",").map((x) => parseInt(x, 16));
const text = (s: string) => Uint8Array.from(Buffer.from(s, "latin1"));

function hello(p: Partial<ParsedClientHello>): ParsedClientHello {
  return {
    sslv2: false, offset: 0, legacyVersion: 0x0303, sessionIdLength: 0, ciphers: [], compressionMethods: [0],
    extensions: [], serverName: null, supportedGroups: [], ecPointFormats: [], signatureAlgorithms: [], alpn: [],
    supportedVersions: [], keyShareGroups: [], ...p,
  };
}

/**
 * The worked example of FoxIO-LLC/ja4 technical_details/JA4.md ("Example" and "Raw Output"): the
 * lists in their original order, plus GREASE values in the places Chrome puts them.
 */
const specExample = hello({
  ciphers: [0x2a2a, ...hex("1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035")],
  extensions: [0x0a0a, ...hex("001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015"), 0xfafa],
  signatureAlgorithms: hex("0403,0804,0401,0503,0805,0501,0806,0601"),
  supportedVersions: [0x5a5a, 0x0304, 0x0303],
  alpn: [text("h2"), text("http/1.1")],
});

describe("GREASE (RFC 8701 §2)", () => {
  it("recognises exactly the 16 reserved values", () => {
    const all: number[] = [];
    for (let v = 0; v < 0x10000; v++) if (isGrease(v)) all.push(v);
    expect(all).toEqual([0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a, 0x8a8a, 0x9a9a, 0xaaaa, 0xbaba, 0xcaca, 0xdada, 0xeaea, 0xfafa]);
    expect(isGreaseAlpn(Uint8Array.of(0x3a, 0x3a))).toBe(true);
    expect(isGreaseAlpn(Uint8Array.of(0x3a, 0x4a))).toBe(false);
    expect(isGreaseAlpn(text("h2"))).toBe(false);
  });
});

describe("JA4 (FoxIO technical_details/JA4.md)", () => {
  it("reproduces the spec's worked example in all four forms", () => {
    const v = ja4Variants(specExample, "t");
    expect(v.ja4).toBe("t13d1516h2_8daaf6152771_e5627efa2ab1");
    expect(v.ja4_r).toBe(
      "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
    );
    expect(v.ja4_ro).toBe(
      "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_0403,0804,0401,0503,0805,0501,0806,0601",
    );
    expect(v.ja4_o).toBe("t13d1516h2_acb858a92679_18f69afefd3d");
    expect(ja4(specExample, "q").startsWith("q13d1516h2_")).toBe(true);
  });

  it("hashes the extension list alone when there are no signature algorithms (spec: 6d807ffa2a79)", () => {
    expect(ja4({ ...specExample, signatureAlgorithms: [] }, "t")).toBe("t13d1516h2_8daaf6152771_6d807ffa2a79");
  });

  it("takes the version from supported_versions, else the hello's version", () => {
    const v = (p: Partial<ParsedClientHello>) => ja4(hello({ ciphers: [0x002f], ...p }), "t").slice(1, 3);
    expect(v({ legacyVersion: 0x0303 })).toBe("12");
    expect(v({ legacyVersion: 0x0303, supportedVersions: [0x0a0a, 0x0303, 0x0304] })).toBe("13");
    expect(v({ legacyVersion: 0x0302 })).toBe("11");
    expect(v({ legacyVersion: 0x0301 })).toBe("10");
    expect(v({ legacyVersion: 0x0300 })).toBe("s3");
    expect(v({ legacyVersion: 0x0002 })).toBe("s2");
    expect(v({ legacyVersion: 0xfefd })).toBe("d2");
    expect(v({ legacyVersion: 0x1234 })).toBe("00");
  });

  it("uses d/i for SNI presence, counts without GREASE, caps counts at 99, zeroes empty hashes", () => {
    expect(ja4(hello({}), "t")).toBe("t12i000000_000000000000_000000000000");
    // SNI alone: part c has nothing to hash (https3-301-get.pcap in the JA4 reference captures).
    expect(ja4(hello({ ciphers: [0x0a0a, 0x002f], extensions: [0x0000] }), "t")).toBe("t12d010100_ba72b8082249_000000000000"); // sha256("002f") cut to 12, by hand once
    const many = hello({ ciphers: Array.from({ length: 150 }, (_, i) => 0x0100 + i), extensions: Array.from({ length: 120 }, (_, i) => 0x0100 + i) });
    expect(ja4(many, "t").slice(0, 10)).toBe("t12i999900");
  });

  it("encodes the first ALPN value as the spec says", () => {
    const a = (...values: Uint8Array[]) => ja4(hello({ alpn: values }), "t").slice(8, 10);
    expect(a()).toBe("00");
    expect(a(new Uint8Array(0))).toBe("00");
    expect(a(text("h2"), text("http/1.1"))).toBe("h2");
    expect(a(text("http/1.1"))).toBe("h1");
    expect(a(text("h"))).toBe("hh");
    // Non-alphanumeric first or last byte: first and last character of the hex form (spec examples).
    expect(a(Uint8Array.of(0xab))).toBe("ab");
    expect(a(Uint8Array.of(0xab, 0xcd))).toBe("ad");
    expect(a(Uint8Array.of(0x30, 0xab))).toBe("3b");
    expect(a(Uint8Array.of(0x30, 0x31, 0xab, 0xcd))).toBe("3d");
    expect(a(Uint8Array.of(0x30, 0xab, 0xcd, 0x31))).toBe("01");
    // A GREASE ALPN identifier (RFC 8701) is skipped like any GREASE value.
    expect(a(Uint8Array.of(0x2a, 0x2a), text("h2"))).toBe("h2");
  });
});

describe("JA3 / JA3S (salesforce/ja3, as tshark 4.0 computes them)", () => {
  it("joins decimal fields, leaves GREASE out, keeps empty fields", () => {
    const h = hello({
      legacyVersion: 0x0303,
      ciphers: [0x0a0a, 0xc02b, 0x002f],
      extensions: [0x1a1a, 0x0000, 0x000a, 0x000b],
      supportedGroups: [0x2a2a, 0x001d, 0x0017],
      ecPointFormats: [0, 1, 2],
    });
    const j = ja3(h);
    expect(j.full).toBe("771,49195-47,0-10-11,29-23,0-1-2");
    // MD5 of the string above (md5sum of the 32 bytes, by hand once): a literal, not the implementation again.
    expect(j.hash).toBe("05e4f17d3c08b0d14ce4eba649c279a4");
    expect(ja3(hello({ legacyVersion: 0x0301, ciphers: [0x0005] })).full).toBe("769,5,,,");
  });

  it("fingerprints a ServerHello by version, cipher and extensions", () => {
    const sh: ParsedServerHello = {
      sslv2: false, offset: 0, legacyVersion: 0x0303, sessionIdLength: 0, cipher: 0x1301, compressionMethod: 0,
      extensions: [0x002b, 0x0033], supportedVersion: 0x0304, alpn: null, keyShareGroup: 0x001d, helloRetryRequest: false,
    };
    expect(ja3s(sh).full).toBe("771,4865,43-51");
    // tshark 4.0 writes the trailing comma when there are no extensions (its "769,57," for TLS 1.0).
    expect(ja3s({ ...sh, legacyVersion: 0x0301, cipher: 0x0039, extensions: [] }).full).toBe("769,57,");
  });
});
