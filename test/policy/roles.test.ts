import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { RoleError, RoleMap, STANDARD_ROLES, loadRolesFile, parseRoleArg, parseRoleArgs, parseRolesText } from "../../src/policy/roles.js";
import type { RoleEntry } from "../../src/policy/roles.js";

const ROLES = "a role (proxy, vcenter, esxi, esxi-standalone, guest, ntp, cloud, cloudcache)";

/** An IPv4 address as the decoder stores it: 16 bytes, the address in the first 4. */
function v4(a: number, b: number, c: number, d: number): Uint8Array {
  const out = new Uint8Array(16);
  out.set([a, b, c, d]);
  return out;
}

/** An IPv6 address from its eight 16-bit groups, big-endian (RFC 4291 §2.2 form 1). */
function v6(...groups: number[]): Uint8Array {
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function errorOf(fn: () => unknown): RoleError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RoleError) return err;
    throw err;
  }
  throw new Error("expected a RoleError");
}
const problemsOfArg = (text: string) => errorOf(() => parseRoleArg(text)).problems;

describe("parseRoleArg: valid", () => {
  it("an IPv4 address is a /32 host", () => {
    const e = parseRoleArg("proxy=10.0.0.5");
    expect(e).toMatchObject({ role: "proxy", version: 4, prefix: 32, text: "10.0.0.5", origin: "--role proxy=10.0.0.5" });
    expect([...e.bytes.subarray(0, 4)]).toEqual([10, 0, 0, 5]);
  });

  it("an IPv4 CIDR", () => {
    const e = parseRoleArg("esxi=10.0.1.0/24");
    expect(e).toMatchObject({ role: "esxi", version: 4, prefix: 24, text: "10.0.1.0/24" });
    expect(parseRoleArg("cloud=0.0.0.0/0").prefix).toBe(0);
  });

  it("IPv6 addresses and CIDRs, written back in RFC 5952 form", () => {
    const a = parseRoleArg("vcenter=2001:DB8:0:0:0:0:0:5");
    expect(a).toMatchObject({ version: 6, prefix: 128, text: "2001:db8::5" });
    expect([...a.bytes]).toEqual([...v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5)]);
    expect(parseRoleArg("guest=2001:db8:0:2::/64")).toMatchObject({ version: 6, prefix: 64, text: "2001:db8:0:2::/64" });
    expect(parseRoleArg("ntp=::ffff:10.0.0.1").text).toBe("::ffff:10.0.0.1");
  });

  it("accepts role names a matrix declares when told them", () => {
    expect(parseRoleArg("prism=10.20.0.10", [...STANDARD_ROLES, "prism"]).role).toBe("prism");
  });
});

describe("parseRoleArg: every kind of invalid, exact text", () => {
  it("prefix length out of range", () => {
    expect(problemsOfArg("esxi=10.0.1.0/33")).toEqual(["--role esxi=10.0.1.0/33: expected an IPv4 prefix length 0-32, got 33"]);
    expect(problemsOfArg("esxi=2001:db8::/129")).toEqual(["--role esxi=2001:db8::/129: expected an IPv6 prefix length 0-128, got 129"]);
    expect(problemsOfArg("esxi=10.0.1.0/abc")).toEqual(['--role esxi=10.0.1.0/abc: expected an IPv4 prefix length 0-32, got "abc"']);
    expect(problemsOfArg("esxi=10.0.1.0/")).toEqual(['--role esxi=10.0.1.0/: expected an IPv4 prefix length 0-32, got ""']);
    expect(problemsOfArg("esxi=10.0.1.0/-1")).toEqual(['--role esxi=10.0.1.0/-1: expected an IPv4 prefix length 0-32, got "-1"']);
  });

  it("not an address", () => {
    expect(problemsOfArg("proxy=10.0.0.256")).toEqual(['--role proxy=10.0.0.256: expected an IPv4 or IPv6 address, got "10.0.0.256"']);
    expect(problemsOfArg("proxy=esxi01.lab")).toEqual(['--role proxy=esxi01.lab: expected an IPv4 or IPv6 address, got "esxi01.lab"']);
    expect(problemsOfArg("proxy=2001:db8::1::2")).toEqual(['--role proxy=2001:db8::1::2: expected an IPv4 or IPv6 address, got "2001:db8::1::2"']);
    expect(problemsOfArg("proxy=")).toEqual(['--role proxy=: expected an IPv4 or IPv6 address, got ""']);
    expect(problemsOfArg("proxy=010.0.0.5")).toEqual(['--role proxy=010.0.0.5: expected an IPv4 address without leading zeros, got "010.0.0.5"']);
    expect(problemsOfArg("proxy=fe80::1%eth0")).toEqual([
      '--role proxy=fe80::1%eth0: expected an IPv6 address without a zone index ("%eth0"), got "fe80::1%eth0"',
    ]);
  });

  it("bits set after the prefix", () => {
    expect(problemsOfArg("esxi=10.0.1.5/24")).toEqual([
      '--role esxi=10.0.1.5/24: expected a network address with no bits set after the /24 prefix, got "10.0.1.5/24" (did you mean "10.0.1.0/24"?)',
    ]);
    // /25: the partial byte is masked too (5 | 0x80 → 0x80).
    expect(problemsOfArg("esxi=10.0.1.133/25")[0]).toContain('(did you mean "10.0.1.128/25"?)');
    expect(problemsOfArg("guest=2001:db8::1/64")[0]).toContain('(did you mean "2001:db8::/64"?)');
  });

  it("no NAME=", () => {
    expect(problemsOfArg("10.0.0.5")).toEqual(['--role 10.0.0.5: expected NAME=ADDRESS or NAME=CIDR (e.g. proxy=10.0.0.5), got "10.0.0.5"']);
  });

  it("unknown role, with the list of valid ones", () => {
    expect(problemsOfArg("esx=10.0.1.7")).toEqual([`--role esx=10.0.1.7: expected ${ROLES}, got "esx" (did you mean "esxi"?)`]);
    expect(problemsOfArg("ESXi=10.0.1.7")).toEqual([`--role ESXi=10.0.1.7: expected ${ROLES}, got "ESXi" (did you mean "esxi"?)`]);
    expect(problemsOfArg("backup=10.0.1.7")).toEqual([`--role backup=10.0.1.7: expected ${ROLES}, got "backup"`]);
    // "any" is for matrix rows, not for hosts.
    expect(problemsOfArg("any=10.0.1.7")).toEqual([`--role any=10.0.1.7: expected ${ROLES}, got "any"`]);
  });

  it("both halves wrong: both reported", () => {
    expect(problemsOfArg("esx=10.0.1.0/40")).toEqual([
      `--role esx=10.0.1.0/40: expected ${ROLES}, got "esx" (did you mean "esxi"?)`,
      "--role esx=10.0.1.0/40: expected an IPv4 prefix length 0-32, got 40",
    ]);
  });

  it("the error message lists the problems", () => {
    const err = errorOf(() => parseRoleArg("esxi=10.0.1.0/33"));
    expect(err.message).toBe("--role: 1 problem:\n  --role esxi=10.0.1.0/33: expected an IPv4 prefix length 0-32, got 33");
  });
});

describe("parseRoleArgs", () => {
  it("collects the mistakes of every argument, and same-address conflicts", () => {
    const err = errorOf(() => parseRoleArgs(["proxy=10.0.0.5", "esxi=10.0.1.0/33", "guest=10.0.0.5", "proxy=10.0.0.5"]));
    expect(err.problems).toEqual([
      "--role esxi=10.0.1.0/33: expected an IPv4 prefix length 0-32, got 33",
      '--role guest=10.0.0.5: 10.0.0.5 is already given the role "proxy" (--role proxy=10.0.0.5); an address or network can have only one role',
    ]);
  });

  it("the same address in two spellings is the same address", () => {
    const err = errorOf(() => parseRoleArgs(["proxy=2001:db8::5", "guest=2001:0db8:0:0::0005"]));
    expect(err.problems).toEqual([
      '--role guest=2001:0db8:0:0::0005: 2001:db8::5 is already given the role "proxy" (--role proxy=2001:db8::5); an address or network can have only one role',
    ]);
  });
});

describe("RoleMap", () => {
  const entries = parseRoleArgs([
    "guest=10.0.0.0/8",
    "esxi=10.0.1.0/24",
    "vcenter=10.0.1.5",
    "esxi-standalone=10.0.1.128/25",
    "guest=2001:db8::/32",
    "proxy=2001:db8::5",
  ]);
  const map = new RoleMap(entries);

  it("most specific prefix wins, whatever order the entries were given in", () => {
    expect(map.roleOf(v4(10, 0, 1, 5), 4)).toBe("vcenter");
    expect(map.roleOf(v4(10, 0, 1, 6), 4)).toBe("esxi");
    // 10.0.1.127 is the last of the lower /25, 10.0.1.128 the first of the upper.
    expect(map.roleOf(v4(10, 0, 1, 127), 4)).toBe("esxi");
    expect(map.roleOf(v4(10, 0, 1, 128), 4)).toBe("esxi-standalone");
    expect(map.roleOf(v4(10, 0, 1, 255), 4)).toBe("esxi-standalone");
    expect(map.roleOf(v4(10, 2, 0, 1), 4)).toBe("guest");
    expect(map.roleOf(v4(11, 0, 0, 1), 4)).toBeNull();
    const reversed = new RoleMap([...entries].reverse());
    expect(reversed.roleOf(v4(10, 0, 1, 5), 4)).toBe("vcenter");
    expect(reversed.roleOf(v4(10, 0, 1, 200), 4)).toBe("esxi-standalone");
  });

  it("IPv6, and no mixing of families", () => {
    expect(map.roleOf(v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5), 6)).toBe("proxy");
    expect(map.roleOf(v6(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1), 6)).toBe("guest");
    expect(map.roleOf(v6(0x2001, 0xdb9, 0, 0, 0, 0, 0, 1), 6)).toBeNull();
    // ::a00:105 has 10.0.1.5's bytes at the end, not the start: no IPv4 entry may match it.
    expect(map.roleOf(v6(0, 0, 0, 0, 0, 0, 0x0a00, 0x0105), 6)).toBeNull();
    // An IPv6 address whose first 4 bytes are 10.0.1.5 is still not an IPv4 address.
    expect(map.roleOf(v6(0x0a00, 0x0105, 0, 0, 0, 0, 0, 0), 6)).toBeNull();
  });

  it("accepts a 4-byte IPv4 buffer as well as the decoder's 16-byte one", () => {
    expect(map.roleOf(new Uint8Array([10, 0, 1, 5]), 4)).toBe("vcenter");
  });

  it("a /0 entry catches everything of its family", () => {
    const m = new RoleMap(parseRoleArgs(["cloud=0.0.0.0/0", "proxy=192.168.1.10"]));
    expect(m.roleOf(v4(8, 8, 8, 8), 4)).toBe("cloud");
    expect(m.roleOf(v4(192, 168, 1, 10), 4)).toBe("proxy");
    expect(m.roleOf(v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 6)).toBeNull();
  });

  it("the same network with two roles is refused, naming both places", () => {
    const file: RoleEntry[] = parseRolesText('{"roles": {"guest": ["10.0.0.5"]}}', "roles.json");
    const err = errorOf(() => new RoleMap([parseRoleArg("proxy=10.0.0.5"), ...file]));
    expect(err.problems).toEqual([
      'roles.json: roles.guest[0]: 10.0.0.5 is already given the role "proxy" (--role proxy=10.0.0.5); an address or network can have only one role',
    ]);
    // The same network at a different prefix length is not a conflict: the more specific wins.
    expect(() => new RoleMap(parseRoleArgs(["guest=10.0.0.0/24", "proxy=10.0.0.0/25"]))).not.toThrow();
  });

  it("explicit roles win over inferred ones; inferred ones carry their reason", () => {
    const m = new RoleMap(parseRoleArgs(["guest=10.0.0.0/8"]));
    const reason = "sent the VMware authd banner on 902/tcp (frame 12)";
    expect(m.infer(v4(10, 0, 1, 20), 4, "esxi", reason)).toBe(true);
    expect(m.infer(v4(192, 168, 5, 20), 4, "esxi", reason)).toBe(true);
    // Covered by the explicit /8: the explicit role wins, the inference stays visible.
    expect(m.roleOf(v4(10, 0, 1, 20), 4)).toBe("guest");
    expect(m.lookup(v4(10, 0, 1, 20), 4)).toEqual({ role: "guest", explicit: true, text: "10.0.0.0/8", reason: "given as --role guest=10.0.0.0/8" });
    expect(m.inferredFor(v4(10, 0, 1, 20), 4)?.role).toBe("esxi");
    // Not covered: the inference answers.
    expect(m.roleOf(v4(192, 168, 5, 20), 4)).toBe("esxi");
    expect(m.lookup(v4(192, 168, 5, 20), 4)).toEqual({ role: "esxi", explicit: false, text: "192.168.5.20", reason });
    // The first inference for an address is kept.
    expect(m.infer(v4(192, 168, 5, 20), 4, "vcenter", "other")).toBe(false);
    expect(m.roleOf(v4(192, 168, 5, 20), 4)).toBe("esxi");
    expect(m.inferred().map((i) => i.text)).toEqual(["10.0.1.20", "192.168.5.20"]);
  });

  it("an inference copies the address, so a reused packet buffer cannot change it", () => {
    const m = new RoleMap();
    const buf = v4(172, 16, 0, 9);
    m.infer(buf, 4, "ntp", "answered NTP on 123/udp");
    buf[3] = 10;
    expect(m.roleOf(v4(172, 16, 0, 9), 4)).toBe("ntp");
    expect(m.roleOf(buf, 4)).toBeNull();
  });
});

describe("roles files", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "policy-roles-"));
  const write = (name: string, text: string) => {
    const p = path.join(tmp, name);
    writeFileSync(p, text);
    return p;
  };

  it("JSON: lists or single strings per role", () => {
    const entries = loadRolesFile(write("r.json", '{"roles": {"proxy": ["10.0.0.5"], "esxi": ["10.0.1.0/24"], "vcenter": "10.0.0.20"}}'));
    expect(entries.map((e) => `${e.role} ${e.text} ${e.origin}`)).toEqual([
      "proxy 10.0.0.5 roles.proxy[0]",
      "esxi 10.0.1.0/24 roles.esxi[0]",
      "vcenter 10.0.0.20 roles.vcenter",
    ]);
    const m = new RoleMap(entries);
    expect(m.roleOf(v4(10, 0, 1, 9), 4)).toBe("esxi");
    expect(m.lookup(v4(10, 0, 0, 5), 4)?.reason).toBe(`given as ${path.join(tmp, "r.json")}: roles.proxy[0]`);
  });

  it("YAML, with unquoted IPv6", () => {
    const yaml = ["roles:", "  proxy: [10.0.0.5]", "  esxi:", "    - 10.0.1.0/24", "    - 2001:db8:0:1::/64", "  ntp: ::1", ""].join("\n");
    const entries = loadRolesFile(write("r.yaml", yaml));
    expect(entries.map((e) => e.text)).toEqual(["10.0.0.5", "10.0.1.0/24", "2001:db8:0:1::/64", "::1"]);
    expect(new RoleMap(entries).roleOf(v6(0x2001, 0xdb8, 0, 1, 0, 0, 0, 7), 6)).toBe("esxi");
  });

  it("every mistake of a file, exact text", () => {
    const text = JSON.stringify({
      roles: {
        esx: ["10.0.1.0/24"],
        esxi: ["10.0.1.0/33", 5, "10.0.2.1/24"],
        proxy: 7,
        guest: ["10.0.0.5"],
        vcenter: "10.0.0.5",
      },
      role: {},
    });
    const err = errorOf(() => parseRolesText(text, "bad.json"));
    expect(err.problems).toEqual([
      'role: unknown key; did you mean "roles"?',
      `roles.esx: expected ${ROLES}, got "esx" (did you mean "esxi"?)`,
      "roles.esxi[0]: expected an IPv4 prefix length 0-32, got 33",
      "roles.esxi[1]: expected an address or CIDR as a string, got 5",
      'roles.esxi[2]: expected a network address with no bits set after the /24 prefix, got "10.0.2.1/24" (did you mean "10.0.2.0/24"?)',
      "roles.proxy: expected an address, a CIDR or a list of them, got 7",
      'roles.vcenter: 10.0.0.5 is already given the role "guest" (roles.guest[0]); an address or network can have only one role',
    ]);
    expect(err.message.split("\n")[0]).toBe("roles file bad.json: 7 problems:");
  });

  it("wrong shape at the top", () => {
    expect(errorOf(() => parseRolesText("[]", "a")).problems).toEqual(['top level: expected an object with a "roles" key, got an empty list']);
    expect(errorOf(() => parseRolesText("{}", "a")).problems).toEqual([
      'roles: missing, expected an object of role names to addresses or CIDRs, e.g. {"proxy": ["10.0.0.5"]}',
    ]);
    expect(errorOf(() => parseRolesText('{"roles": ["10.0.0.5"]}', "a")).problems).toEqual([
      'roles: expected an object of role names to addresses or CIDRs, e.g. {"proxy": ["10.0.0.5"]}, got a list',
    ]);
  });

  it("YAML syntax error, with its line", () => {
    const problems = errorOf(() => parseRolesText('roles:\n  proxy: "10.0.0.5\n', "r.yaml")).problems;
    expect(problems.length).toBe(1);
    expect(problems[0]).toMatch(/^line 3, column 1: YAML syntax error: Missing closing "quote/);
  });
});
