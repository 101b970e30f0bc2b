import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isGrease } from "../../src/detect/tls/messages.js";
import { ALERT_DESCRIPTION_NAMES, CIPHER_SUITE_NAMES, EXTENSION_TYPE_NAMES } from "../../src/detect/tls/names.js";

function tsharkVersion(): string | null {
  try {
    return execFileSync("tshark", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0];
  } catch {
    return null;
  }
}
const version = tsharkVersion();
const generatedWith = "TShark (Wireshark) 4.0.17";

describe("tls/names.ts (generated)", () => {
  it("holds IANA-style cipher names only, no GREASE, each name once", () => {
    const names = [...CIPHER_SUITE_NAMES.values()];
    expect(names.length).toBeGreaterThan(340);
    for (const [code, n] of CIPHER_SUITE_NAMES) {
      expect(n, `0x${code.toString(16)}`).toMatch(/^TLS_[A-Za-z0-9_]+$/);
      expect(isGrease(code)).toBe(false);
    }
    expect(new Set(names).size).toBe(names.length);
    expect([...ALERT_DESCRIPTION_NAMES.values()].every((n) => /^[a-z][a-z0-9_]*$/.test(n))).toBe(true);
    expect(EXTENSION_TYPE_NAMES.get(0x002b)).toBe("supported_versions");
    expect(EXTENSION_TYPE_NAMES.get(0x0010)).toBe("application_layer_protocol_negotiation");
  });

  // The committed file must be exactly what the generator makes from the tshark it was made with.
  it.skipIf(version === null || !version.startsWith(generatedWith))(`is what test/tools/gen-tls-names.mjs makes with ${generatedWith}`, () => {
    const script = path.resolve(__dirname, "../tools/gen-tls-names.mjs");
    const r = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" });
    expect(r.stderr + r.stdout).toContain("up to date");
    expect(r.status).toBe(0);
  });
});
