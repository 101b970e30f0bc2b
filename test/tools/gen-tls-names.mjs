#!/usr/bin/env node
/**
 * Regenerates src/detect/tls/names.ts from `tshark -G values` (Wireshark's value_string tables),
 * corrected to the IANA registries, because the IANA registry files cannot be downloaded here.
 *
 *   node test/tools/gen-tls-names.mjs            # rewrites src/detect/tls/names.ts
 *   node test/tools/gen-tls-names.mjs --check    # exit 1 if the committed file differs
 *
 * The committed file was generated with TShark 4.0.17 (Debian 12). What the corrections are, and
 * why:
 *
 * Cipher suites ("TLS Cipher Suites" registry, tls-parameters-4). Wireshark 4.0.17's names for
 * every IANA-assigned code point were compared by hand with a copy of the IANA registry and are
 * identical (TLS 1.3 suites included: 0x1301 is TLS_AES_128_GCM_SHA256 in both). Wireshark also
 * names code points that IANA never assigned (pre-standard ChaCha20 0xcc13-0xcc15 under the same
 * names as 0xcca8-0xccaa, FORTEZZA 0x001c-0x001d, the EXPORT1024 and old GOST drafts 0x0060-0x0066
 * and 0x0080-0x0083, ECJPAKE 0xc0ff, Chinese SM 0xe0xx, Salsa20 0xe41x, FIPS 0xfefe/0xfeff/
 * 0xffe0/0xffe1); those are dropped so that cipherName() reports them as hex rather than under a
 * name that is not IANA's (or, for 0xcc13, the name of a different suite). IANA assigns
 * 0x1306/0x1307 (AEGIS), which Wireshark 4.0 lacks; they are added by hand below. GREASE values
 * (RFC 8701) are not names and are dropped.
 *
 * Alert descriptions: Wireshark's display strings ("Handshake Failure") turned into the RFC 5246 /
 * RFC 8446 §6 identifiers ("handshake_failure"), without the "_RESERVED" suffix RFC 8446 puts on
 * codes TLS 1.3 no longer sends (older versions do send them). Code 1 ("End of Early Data", a
 * TLS 1.3 draft alert never registered) is dropped.
 *
 * Extension types: Wireshark's names, which are the IANA names for registered types; GREASE
 * entries dropped. Wireshark also names a few unregistered vendor types (next_protocol_negotiation,
 * channel_id, application_settings, encrypted_server_name); they are kept and marked as such in
 * the generated file.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = path.resolve(here, "../../src/detect/tls/names.ts");

/** IANA-assigned cipher suite ranges (tls-parameters-4; everything else is Unassigned/Reserved). */
const IANA_CIPHER_RANGES = [
  [0x0000, 0x001b], [0x001e, 0x0046], [0x0067, 0x006d], [0x0084, 0x00c7], [0x00ff, 0x00ff],
  [0x1301, 0x1307], [0x5600, 0x5600], [0xc001, 0xc0b5], [0xc100, 0xc106], [0xcca8, 0xccae],
  [0xd001, 0xd003], [0xd005, 0xd005],
];
/** IANA names Wireshark 4.0 does not have (checked against the IANA registry copy). */
const IANA_CIPHER_ADDITIONS = new Map([
  [0x1306, "TLS_AEGIS_256_SHA384"],
  [0x1307, "TLS_AEGIS_128L_SHA256"],
]);
/** Extension types Wireshark names that IANA has not registered. */
const UNREGISTERED_EXTENSIONS = new Set([13172, 17513, 30031, 30032, 65445, 65486]);

/** Version spellings fixed by the report contract (not taken from tshark, whose DTLS list is partial). */
const VERSIONS = [
  [0x0002, "SSL 2.0"], [0x0300, "SSL 3.0"], [0x0301, "TLS 1.0"], [0x0302, "TLS 1.1"], [0x0303, "TLS 1.2"],
  [0x0304, "TLS 1.3"], [0xfefc, "DTLS 1.3"], [0xfefd, "DTLS 1.2"], [0xfeff, "DTLS 1.0"],
];

const isGrease = (v) => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

function tsharkValues() {
  return execFileSync("tshark", ["-G", "values"], { maxBuffer: 512 * 1024 * 1024, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}

function field(lines, name) {
  const out = new Map();
  for (const line of lines) {
    if (!line.startsWith("V\t" + name + "\t")) continue;
    const [, , value, label] = line.split("\t");
    const v = Number(value);
    if (!out.has(v)) out.set(v, label);
  }
  return out;
}

function hex4(v) {
  return "0x" + v.toString(16).padStart(4, "0");
}

function generate() {
  const version = execFileSync("tshark", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0].replace(/^TShark \(Wireshark\) (\S+).*$/, "TShark $1");
  const lines = tsharkValues().split("\n");

  const ciphers = new Map();
  for (const [v, name] of field(lines, "tls.handshake.ciphersuite")) {
    if (isGrease(v)) continue;
    if (!IANA_CIPHER_RANGES.some(([a, b]) => v >= a && v <= b)) continue;
    ciphers.set(v, name);
  }
  for (const [v, name] of IANA_CIPHER_ADDITIONS) if (!ciphers.has(v)) ciphers.set(v, name);

  const alerts = new Map();
  for (const [v, label] of field(lines, "tls.alert_message.desc")) {
    if (v === 1) continue;
    alerts.set(v, label.toLowerCase().replace(/[^a-z0-9]+/g, "_"));
  }

  const extensions = new Map();
  for (const [v, label] of field(lines, "tls.handshake.extension.type")) {
    if (isGrease(v)) continue;
    extensions.set(v, label);
  }

  const sorted = (m) => [...m.entries()].sort((a, b) => a[0] - b[0]);
  let s = "";
  s += "/**\n";
  s += " * TLS name tables, as data. GENERATED by test/tools/gen-tls-names.mjs from `tshark -G values`\n";
  s += ` * (${version}), corrected to the IANA registries; do not edit by hand, rerun the script.\n`;
  s += " * See the script's header for every correction and why.\n";
  s += " */\n\n";
  s += "/** Protocol versions as the report contract spells them. TLS 1.3 drafts (0x7fNN) are computed. */\n";
  s += "export const VERSION_NAMES: ReadonlyMap<number, string> = new Map([\n";
  for (const [v, n] of VERSIONS) s += `  [${hex4(v)}, ${JSON.stringify(n)}],\n`;
  s += "]);\n\n";
  s += "/** IANA TLS Cipher Suites registry names, by code point. Codes IANA never assigned are absent. */\n";
  s += "export const CIPHER_SUITE_NAMES: ReadonlyMap<number, string> = new Map([\n";
  for (const [v, n] of sorted(ciphers)) s += `  [${hex4(v)}, ${JSON.stringify(n)}],\n`;
  s += "]);\n\n";
  s += "/** Alert descriptions (RFC 5246 §7.2, RFC 8446 §6, IANA TLS Alerts), RFC identifiers. */\n";
  s += "export const ALERT_DESCRIPTION_NAMES: ReadonlyMap<number, string> = new Map([\n";
  for (const [v, n] of sorted(alerts)) s += `  [${v}, ${JSON.stringify(n)}],\n`;
  s += "]);\n\n";
  s += "/** Extension types (IANA TLS ExtensionType Values; a few unregistered vendor types marked). */\n";
  s += "export const EXTENSION_TYPE_NAMES: ReadonlyMap<number, string> = new Map([\n";
  for (const [v, n] of sorted(extensions)) {
    s += `  [${hex4(v)}, ${JSON.stringify(n)}],${UNREGISTERED_EXTENSIONS.has(v) ? " // not IANA-registered" : ""}\n`;
  }
  s += "]);\n";
  return s;
}

const text = generate();
if (process.argv.includes("--check")) {
  const current = readFileSync(outFile, "utf8");
  if (current !== text) {
    console.error(`${outFile} differs from what this tshark generates`);
    process.exit(1);
  }
  console.log("tls/names.ts is up to date");
} else {
  writeFileSync(outFile, text);
  console.log(`wrote ${outFile}`);
}
