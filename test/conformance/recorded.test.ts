/**
 * The project's own recordings (fixtures/recorded/, made by fixtures/record.sh with real servers
 * in network namespaces) checked conversation by conversation against what the recording script
 * says it did (<capture>.expected.json, fields in fixtures/recorded/README.md).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import type { ConversationRecord } from "../../src/report/record.js";
import { REPO_ROOT } from "../support/corpus.js";

const DIR = path.join(REPO_ROOT, "fixtures/recorded");
const EXPECTED = readdirSync(DIR).filter((f) => f.endsWith(".expected.json")).sort();

/** MS-RDPBCGR §2.2.1.1.1 requestedProtocols / selectedProtocol bits, as the report names them. */
const RDP_BITS: [number, string][] = [[1, "ssl"], [2, "hybrid"], [4, "rdstls"], [8, "hybrid_ex"], [16, "rdsaad"]];

describe("project-recorded captures", () => {
  it("has recordings to check", () => expect(EXPECTED.length).toBeGreaterThanOrEqual(15));

  for (const name of EXPECTED) {
    it(name.replace(".expected.json", ""), async () => {
      const exp = JSON.parse(readFileSync(path.join(DIR, name), "utf8"));
      const report = await reportFor([path.join(DIR, exp.file)]);
      const cap = report.captures[0];
      expect(cap.format).toBe(exp.format);
      expect(cap.compressed).toBe(exp.compression === "gzip");
      expect(cap.linkTypes).toContain(exp.linkType);
      expect(cap.errors).toEqual([]);

      // Exactly the conversations the script made: nothing missing, nothing extra.
      expect(report.conversations.length, "conversation count").toBe(exp.conversations.length);
      for (const e of exp.conversations) {
        const c = report.conversations.find(
          (r: ConversationRecord) =>
            r.transport === e.transport && r.client.ip === e.client.ip && r.server.ip === e.server.ip &&
            r.server.port === e.server.port && (e.client.port === "*" || r.client.port === e.client.port),
        );
        expect(c, `${e.id}: ${e.transport} ${e.client.ip}:${e.client.port} → ${e.server.ip}:${e.server.port}`).toBeDefined();
        const at = `${name} ${e.id}`;
        expect(c!.protocol, `${at} protocol`).toBe(e.protocol);
        if (e.state) expect(c!.state, `${at} state`).toBe(e.state);
        if (e.tls) {
          const t = c!.tls!;
          expect(t, `${at} tls`).not.toBeNull();
          expect(t.clientVersion, `${at} clientVersion`).toBe(e.tls.clientVersion);
          expect(t.version, `${at} version`).toBe(e.tls.version);
          expect(t.sni, `${at} sni`).toBe(e.tls.sni);
          if (e.tls.alpnOffered) expect(t.alpn).toEqual(e.tls.alpnOffered);
          if (e.tls.alpnSelected && e.tls.alpnSelectedInClear !== false) expect(t.alpnSelected, `${at} alpnSelected`).toBe(e.tls.alpnSelected);
          if (e.tls.certificate?.inClear) {
            expect(t.certificate, `${at} certificate`).not.toBeNull();
            expect(t.certificate!.subject).toContain(`CN=${e.tls.certificate.subjectCN}`);
            expect(t.certificate!.issuer).toContain(`CN=${e.tls.certificate.issuerCN}`);
            const san = (e.tls.certificate.san as string[]).map((s) => s.replace(/^(DNS|IP):/, ""));
            expect(t.certificate!.san).toEqual(san);
          } else if (e.tls.certificate && e.tls.certificate.inClear === false) {
            expect(t.certificate, `${at}: the certificate is encrypted in TLS 1.3`).toBeNull();
          }
        } else {
          expect(c!.tls, `${at} tls`).toBeNull();
        }
        if (e.http) {
          expect(c!.http, `${at} http`).not.toBeNull();
          if (e.http.method) expect(c!.http!.method).toBe(e.http.method);
          if (e.http.path) expect(c!.http!.uri).toBe(e.http.path);
          if (e.http.status) expect(c!.http!.status).toBe(e.http.status);
        }
        if (e.dns) {
          for (const q of e.dns) {
            expect(c!.dns!.queries, `${at} dns`).toContain(q.name);
            if (q.rcode) expect(c!.dns!.rcodes).toContain(q.rcode);
          }
        }
        if (e.ntp) {
          expect(c!.ntp!.version).toBe(e.ntp.version);
          expect(c!.ntp!.clientMode).toBe(e.ntp.clientMode);
          expect(c!.ntp!.serverMode).toBe(e.ntp.serverMode);
          expect(c!.ntp!.stratum).toBe(e.ntp.serverStratum);
        }
        if (e.ssh) {
          expect(c!.ssh!.serverBanner?.startsWith(e.ssh.serverStartsWith), `${at} ssh server banner`).toBe(true);
          expect(c!.ssh!.clientBanner?.startsWith(e.ssh.clientStartsWith), `${at} ssh client banner`).toBe(true);
        }
        if (e.rdp) {
          expect(c!.rdp!.cookie).toBe(String(e.rdp.cookie).replace(/^mstshash=/, ""));
          expect(c!.rdp!.requestedProtocols).toEqual(RDP_BITS.filter(([b]) => e.rdp.requestedProtocols & b).map(([, n]) => n));
          expect(c!.rdp!.selectedProtocol).toBe(RDP_BITS.find(([b]) => b === e.rdp.selectedProtocol)?.[1] ?? "rdp");
        }
        if (e.banner) {
          // The expectation holds the bytes of the line with its CRLF; the report holds the line.
          if (e.banner.text) expect(c!.banner, `${at} banner`).toBe(String(e.banner.text).replace(/\r?\n$/, ""));
          if (e.banner.startsWith) expect(c!.banner?.startsWith(e.banner.startsWith), `${at} banner start`).toBe(true);
        }
        if (e.icmp) {
          expect(c!.icmp, `${at} icmp`).not.toBeNull();
          expect([c!.icmp!.type, c!.icmp!.code]).toEqual([e.icmp.type, e.icmp.code]);
        } else expect(c!.icmp, `${at} icmp`).toBeNull();
        if (e.fragments) expect(cap.decode.reassembled, `${at} reassembled datagrams`).toBeGreaterThan(0);
      }
    });
  }
});
