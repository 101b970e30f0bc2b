import { describe, expect, it } from "vitest";
import { detect } from "../../src/detect/registry.js";
import { sshDetector } from "../../src/detect/ssh.js";
import { emptyFacts } from "../../src/detect/types.js";
import { SSH_CLIENT_LINE, SSH_SERVER_LINE, sshClient, sshServer } from "./fixtures.js";
import { bytes, names, tcp } from "./sample.js";

function analyze(client: Uint8Array, server: Uint8Array) {
  const f = emptyFacts();
  sshDetector.analyze(tcp(client, server), f);
  return f;
}

describe("ssh detector", () => {
  it("reads both identification lines and the software versions", () => {
    const f = detect(tcp(sshClient, sshServer, { serverPort: 22 }));
    expect(f.protocol).toBe("ssh");
    expect(f.ssh).toEqual({
      clientBanner: SSH_CLIENT_LINE,
      serverBanner: SSH_SERVER_LINE,
      clientSoftware: "OpenSSH_8.9p1", // the comment after SP is not part of softwareversion
      serverSoftware: "OpenSSH_7.4",
    });
    expect(f.banner).toBe(SSH_SERVER_LINE);
    expect(f.anomalies).toEqual([]);
  });

  it("accepts SSH-1.99 (compatible with 2.0) without a mismatch", () => {
    const f = analyze(bytes("SSH-2.0-PuTTY_Release_0.80\r\n"), bytes("SSH-1.99-Cisco-1.25\r\n"));
    // Cisco's "-" inside softwareversion breaks RFC 4253 §4.2 but is what real routers send: kept whole.
    expect(f.ssh?.serverSoftware).toBe("Cisco-1.25");
    expect(f.anomalies).toEqual([]);
  });

  it("names a version mismatch and protocol 1", () => {
    expect(names(analyze(bytes("SSH-1.5-OpenSSH_2.1\r\n"), bytes("SSH-2.0-OpenSSH_9.6\r\n")).anomalies)).toEqual(["ssh_version_mismatch"]);
    expect(names(analyze(bytes("SSH-1.5-1.2.27\r\n"), bytes("SSH-1.99-OpenSSH_3.9p1\r\n")).anomalies)).toEqual(["ssh_version_1"]);
  });

  it("skips server preamble lines (RFC 4253 §4.2) but names a client preamble", () => {
    const server = bytes("Welcome to host7\r\n", "Authorised use only\r\n", "SSH-2.0-dropbear_2022.83\r\n");
    expect(sshDetector.probe(tcp(new Uint8Array(0), server))).toBe("match");
    const f = analyze(bytes("hello\r\n", "SSH-2.0-libssh_0.10.6\r\n"), server);
    expect(f.ssh?.serverSoftware).toBe("dropbear_2022.83");
    expect(f.ssh?.clientSoftware).toBe("libssh_0.10.6");
    expect(names(f.anomalies)).toEqual(["ssh_client_preamble"]);
    expect(f.anomalies[0].message).toContain("7 bytes");
  });

  it("names malformed identification lines", () => {
    // No "-softwareversion" at all.
    expect(names(analyze(bytes("SSH-2.0\r\n"), new Uint8Array(0)).anomalies)).toContain("ssh_malformed_identification");
    // Lower-case "ssh-" matches Zeek's signature but breaks RFC 4253.
    const lower = analyze(bytes("ssh-2.0-Go\r\n"), new Uint8Array(0));
    expect(names(lower.anomalies)).toEqual(["ssh_malformed_identification"]);
    expect(lower.ssh?.clientSoftware).toBe("Go");
    // Protocol version that is not N.N.
    expect(names(analyze(bytes("SSH-2.x-foo\r\n"), new Uint8Array(0)).anomalies)).toEqual(["ssh_malformed_identification"]);
  });

  it("names a bare LF, a line longer than 255 bytes, and an unterminated line", () => {
    expect(names(analyze(bytes("SSH-2.0-OpenSSH_4.3\n"), new Uint8Array(0)).anomalies)).toEqual(["ssh_identification_missing_cr"]);
    const long = bytes("SSH-2.0-X ", "c".repeat(260), "\r\n"); // 10 + 260 + 2 = 272 bytes
    const f = analyze(long, new Uint8Array(0));
    expect(names(f.anomalies)).toEqual(["ssh_identification_too_long"]);
    expect(f.anomalies[0].message).toContain("272 bytes");
    expect(names(analyze(bytes("SSH-2.0-cut"), new Uint8Array(0)).anomalies)).toEqual(["ssh_identification_unterminated"]);
  });

  it("probe: Zeek's ^[sS][sS][hH]-[12]\\. on either side; more while a prefix may still grow", () => {
    const none = new Uint8Array(0);
    expect(sshDetector.probe(tcp(bytes("SSH-2.0-x\r\n"), none))).toBe("match");
    expect(sshDetector.probe(tcp(bytes("sSh-1."), none))).toBe("match");
    expect(sshDetector.probe(tcp(bytes("SSH-3.0-x\r\n"), none))).toBe("no");
    expect(sshDetector.probe(tcp(bytes("SSH-"), none, { clientDone: false, serverDone: false }))).toBe("more");
    expect(sshDetector.probe(tcp(bytes("SSH-"), none))).toBe("no");
    expect(sshDetector.probe(tcp(bytes([0x16, 0x03, 0x01]), none))).toBe("no");
  });
});
