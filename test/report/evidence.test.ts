// `analyze --evidence FILE.pcapng` on recorded captures with findings: the file read back with our
// reader (frames, comments, bytes equal to the source frames they name) and with tshark (the
// display filter on frame.comment gives exactly the report's evidence frames; the source frames
// named are the conversation's, by tshark's tcp.stream/udp.stream), the sha256 in the report, the
// bounds (a conversation of more than 50 packets, a finding of more than 10 conversations), and
// the destinations refused before anything is read.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/index.js";
import type { RawPacket } from "../../src/capture/index.js";
import { runAnalyze, type AnalyzeCliOptions } from "../../src/cli/analyze.js";
import { exitCodeFor, reportFor } from "../../src/pipeline/index.js";
import {
  addEvidence,
  EVIDENCE_CONVERSATIONS_PER_FINDING,
  EVIDENCE_FRAMES_PER_CONVERSATION,
  EVIDENCE_TAIL_FRAMES,
  EvidenceError,
  checkEvidenceDestination,
  checkEvidenceSources,
  writeEvidence,
} from "../../src/report/index.js";
import { renderHtml } from "../../src/report/html/page.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { evidenceFramesText } from "../../src/report/view/index.js";
import type { Report } from "../../src/report/record.js";
import { renderTable } from "../../src/report/table.js";
import { HAVE_PUBLIC, PUBLIC_DIR, REPO_ROOT, SKIP_MESSAGE } from "../support/corpus.js";

const dir = mkdtempSync(path.join(tmpdir(), "pnc-evidence-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function have(cmd: string): boolean {
  try {
    execFileSync(cmd, ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const tshark = have("tshark");
if (!tshark) console.warn("evidence: tshark is not installed, the tshark read-back tests are skipped");

const SAMPLE = path.join(REPO_ROOT, "fixtures/sample.pcapng");
const FAILURES = path.join(REPO_ROOT, "fixtures/recorded/tcp-udp-failures.pcap");
const BIG_CONVERSATION = path.join(PUBLIC_DIR, "pcapng-content-with-pcap-extension-git.pcap");
const SYNSCAN = path.join(PUBLIC_DIR, "synscan-incl-902-903-3389-22-443.pcap");

/** A packet as read, its bytes as hex (comparable with toEqual); the interface id is the file's own. */
type Pkt = Omit<RawPacket, "offset" | "interfaceId" | "data" | "buf" | "start"> & { data: string };

async function packets(file: string): Promise<Map<number, Pkt>> {
  const out = new Map<number, Pkt>();
  await readCapture(file, (p: RawPacket) =>
    out.set(p.frame, { frame: p.frame, tsSec: p.tsSec, tsNsec: p.tsNsec, caplen: p.caplen, origLen: p.origLen, linkType: p.linkType, data: Buffer.from(p.data).toString("hex") }),
  );
  return out;
}

/**
 * The comments of a little-endian pcapng as written (our reader does not return options): the
 * SHB's, and each EPB's in file order. Blocks: type u32, total length u32, body, length again
 * (§3.1); options: code u16, length u16, value padded to 32 bits, code 0 ends (§3.5); comment = 1.
 */
function comments(file: string): { shb: string[]; epb: string[][] } {
  const b = readFileSync(file);
  const opts = (from: number, to: number): string[] => {
    const out: string[] = [];
    for (let o = from; o + 4 <= to && b.readUInt16LE(o) !== 0; o += 4 + ((b.readUInt16LE(o + 2) + 3) & ~3)) {
      if (b.readUInt16LE(o) === 1) out.push(b.subarray(o + 4, o + 4 + b.readUInt16LE(o + 2)).toString("utf8"));
    }
    return out;
  };
  const shb: string[] = [];
  const epb: string[][] = [];
  for (let at = 0; at < b.length; ) {
    const type = b.readUInt32LE(at);
    const len = b.readUInt32LE(at + 4);
    if (type === 0x0a0d0d0a) shb.push(...opts(at + 24, at + len - 4)); // after magic, version, section length
    if (type === 6) epb.push(opts(at + 28 + ((b.readUInt32LE(at + 20) + 3) & ~3), at + len - 4)); // after the padded data
    at += len;
  }
  return { shb, epb };
}

const COMMENT = /^phoenix-netcheck: (\S+)(?: (\S+))? — conversation (\d+), frame (\d+) of (.+?)( \(ICMP error quoting it\))?$/;
interface Parsed {
  code: string;
  rule: string | null;
  conversation: number;
  frame: number;
  capture: string;
  icmp: boolean;
}
function parse(c: string): Parsed {
  const m = COMMENT.exec(c);
  expect(m, c).not.toBeNull();
  return { code: m![1], rule: m![2] ?? null, conversation: Number(m![3]), frame: Number(m![4]), capture: m![5], icmp: m![6] !== undefined };
}

function tsharkFrames(file: string, filter: string): number[] {
  const out = execFileSync("tshark", ["-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return out.split("\n").filter((l) => l !== "").map(Number);
}

function opts(extra: Partial<AnalyzeCliOptions>): AnalyzeCliOptions {
  return { role: [], failOn: "none", color: "never", reassemblyBytes: 16384, quiet: true, progress: false, ...extra };
}

/** analyze FILES --evidence EV -o JSON, as the command line runs it; returns the report and the file's packets and comments. */
async function analyzeWithEvidence(name: string, files: string[], extra: Partial<AnalyzeCliOptions> = {}) {
  const ev = path.join(dir, `${name}.pcapng`);
  const json = path.join(dir, `${name}.json`);
  const code = await runAnalyze(files, opts({ evidence: ev, output: json, ...extra }));
  const report = JSON.parse(readFileSync(json, "utf8")) as Report;
  // The exit code the report alone gives (0, or 3 for an inconclusive verdict): never 2, the evidence was written.
  expect(code).toBe(exitCodeFor(report, "none"));
  expect(report.evidence).toBeDefined();
  const back: Pkt[] = [];
  const s = await readCapture(ev, (p) => back.push({ frame: p.frame, tsSec: p.tsSec, tsNsec: p.tsNsec, caplen: p.caplen, origLen: p.origLen, linkType: p.linkType, data: Buffer.from(p.data).toString("hex") }));
  expect(s.errors).toEqual([]);
  return { ev, json, report, back, ...comments(ev) };
}

describe("analyze --evidence on fixtures/sample.pcapng (weak-tls, blocked, unexpected-port)", async () => {
  const r = await analyzeWithEvidence("sample", [SAMPLE]);
  const source = await packets(SAMPLE);
  const parsed = r.epb.map((cs) => cs.map(parse));

  it("the report gives the file's name, sha256, packet count and size", () => {
    const bytes = readFileSync(r.ev);
    expect(r.report.evidence).toMatchObject({ file: r.ev, packets: r.back.length, bytes: bytes.length });
    expect(r.report.evidence!.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(r.back.length).toBeGreaterThan(0);
  });

  it("every packet has at least one comment, and its bytes, lengths, link type and timestamp are the source frame's", () => {
    expect(parsed.length).toBe(r.back.length);
    r.back.forEach((p, i) => {
      expect(parsed[i].length).toBeGreaterThan(0);
      for (const c of parsed[i]) {
        expect(c.capture).toBe("sample.pcapng");
        const src = source.get(c.frame)!;
        expect({ ...p, frame: c.frame }).toEqual(src);
      }
    });
    // In source order: the evidence keeps the capture's timeline.
    const frames = parsed.map((cs) => cs[0].frame);
    expect(frames).toEqual([...frames].sort((a, b) => a - b));
  });

  it("each finding's evidenceFrames are exactly the packets whose comments name it and its conversations", () => {
    r.report.findings.forEach((f) => {
      const mine = parsed.flatMap((cs, i) => (cs.some((c) => c.code === f.code && f.conversations.includes(c.conversation)) ? [i + 1] : []));
      expect(f.evidenceFrames, f.code).toEqual(mine);
      expect(mine.length, f.code).toBeGreaterThan(0);
      for (const i of mine) for (const c of parsed[i - 1].filter((x) => x.code === f.code)) expect(c.rule).toBe(f.rule);
    });
  });

  it("one conforming example per matrix row seen without a finding, and only conforming conversations", () => {
    // A conversation on the matrix whose row is not decided (rule null: several candidates) is no row's example.
    const rows = new Set(r.report.conversations.filter((c) => c.ruleKind === "matrix" && c.rule !== null && c.findings.length === 0).map((c) => c.rule));
    expect(r.report.evidence!.examples.map((e) => e.rule).sort()).toEqual([...rows].sort());
    for (const e of r.report.evidence!.examples) {
      const conv = r.report.conversations.find((c) => c.id === e.conversation)!;
      expect(conv.findings).toEqual([]);
      expect(conv.rule).toBe(e.rule);
      const named = parsed.flatMap((cs, i) => (cs.some((c) => c.code === "conforming" && c.conversation === e.conversation) ? [i + 1] : []));
      expect(e.frames).toEqual(named);
    }
  });

  it("the SHB comment names the report, the capture and the bounds", () => {
    expect(r.shb.length).toBe(1);
    expect(r.shb[0]).toContain(`for the report ${r.json}`);
    expect(r.shb[0]).toContain(`1: sample.pcapng (pcapng, ${r.report.captures[0].frames} frames`);
    expect(r.shb[0]).toContain(`At most ${EVIDENCE_CONVERSATIONS_PER_FINDING} conversations per finding and ${EVIDENCE_FRAMES_PER_CONVERSATION} frames per conversation`);
  });

  describe.skipIf(!tshark)("read by tshark", () => {
    it('frame.comment contains "weak-tls" (and every other code) gives exactly the report\'s evidence frames', () => {
      for (const code of new Set(r.report.findings.map((f) => f.code))) {
        const expected = [...new Set(r.report.findings.filter((f) => f.code === code).flatMap((f) => f.evidenceFrames!))].sort((a, b) => a - b);
        expect(tsharkFrames(r.ev, `frame.comment contains "${code}"`), code).toEqual(expected);
      }
      expect(tsharkFrames(r.ev, 'frame.comment contains "weak-tls"').length).toBeGreaterThan(0);
    });

    it("the source frames named for each finding's conversation are all of that conversation's frames (tshark's tcp.stream), none else", () => {
      for (const f of r.report.findings) {
        for (const id of f.conversations) {
          const conv = r.report.conversations.find((c) => c.id === id)!;
          const named = parsed.flat().filter((c) => c.conversation === id).map((c) => c.frame);
          // Every conversation of the sample is shorter than the bound: all its frames are there.
          expect(tsharkFrames(SAMPLE, `${conv.transport}.stream == ${conv.stream}`)).toEqual([...new Set(named)].sort((a, b) => a - b));
        }
      }
    });

    it("tshark reads the file without complaint and decodes the TLS 1.0 handshake of weak-tls", () => {
      const out = execFileSync("tshark", ["-r", r.ev, "-Y", 'frame.comment contains "weak-tls" && tls.handshake.type == 2', "-T", "fields", "-e", "tls.handshake.version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      expect(out.trim()).toBe("0x0301");
    });
  });
});

describe("every format names the evidence file, its sha256 and each finding's evidence frames", async () => {
  const r = await analyzeWithEvidence("formats", [SAMPLE]);
  const e = r.report.evidence!;
  const weak = r.report.findings.find((f) => f.code === "weak-tls")!;
  // The wording every format shares ("evidence frames 6–8, 11, 12, 24–27, 33"), from the one place it is made.
  const framesText = evidenceFramesText(weak)!;
  expect(framesText).toMatch(/^evidence frames \d/);
  const formats: Record<string, string> = {
    table: renderTable(r.report, { width: 120, color: false }),
    // The terminal's first screen (no --verbose): the captures section is not shown, the evidence is.
    "table, first screen": renderTable(r.report, { width: 80, color: false, sections: ["fix-first", "findings", "coverage"] }),
    markdown: renderMarkdown(r.report),
    html: renderHtml(r.report),
  };
  for (const [name, text] of Object.entries(formats)) {
    it(name, () => {
      expect(text).toContain(`sha256 ${e.sha256}`);
      expect(text).toContain(`Evidence: ${e.file}`);
      expect(text).toContain(framesText);
    });
  }
  it("json (the -o file)", () => {
    expect(readFileSync(r.json, "utf8")).toContain(`"sha256": "${e.sha256}"`);
    expect(weak.evidenceFrames!.length).toBeGreaterThan(1);
  });
});

describe("a packet behind several findings", () => {
  it("carries one comment per finding, and is in each finding's evidenceFrames, once in the file", async () => {
    // The policy gives each conversation one finding today; the evidence file must not depend on
    // that. Input: the sample's real report, with its weak-tls finding listed a second time under
    // another code (same conversations and frames), as a future policy might.
    const report = await reportFor([SAMPLE]);
    const weak = report.findings.find((f) => f.code === "weak-tls")!;
    const twice = { ...report, findings: [...report.findings, { ...weak, code: "protocol-mismatch" as const }] };
    const ev = path.join(dir, "twice.pcapng");
    const r = await writeEvidence(twice, ev, { sources: [SAMPLE], reportFile: null, application: "t" });
    const a = r.findingFrames[report.findings.indexOf(weak)];
    const b = r.findingFrames[twice.findings.length - 1];
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    const { epb } = comments(ev);
    for (const n of a) {
      const cs = epb[n - 1].map(parse);
      expect(cs.map((c) => c.code).sort()).toEqual(["protocol-mismatch", "weak-tls"]);
      expect(cs[0].frame).toBe(cs[1].frame);
    }
    const frames = epb.map((cs) => cs.map(parse)[0].frame);
    expect(new Set(frames).size).toBe(frames.length); // each source frame once
  });
});

describe("analyze --evidence on a gzip-compressed capture", () => {
  it("gives the same packets, bytes and comments as the plain capture (but for the capture's name)", async () => {
    const plain = await analyzeWithEvidence("plain", [path.join(REPO_ROOT, "fixtures/recorded/tcp-udp-v4.pcap")]);
    const gz = await analyzeWithEvidence("gz", [path.join(REPO_ROOT, "fixtures/recorded/tcp-udp-v4.pcap.gz")]);
    expect(plain.back.length).toBeGreaterThan(0);
    expect(gz.back).toEqual(plain.back);
    expect(gz.epb.map((cs) => cs.map((c) => c.replace(" of tcp-udp-v4.pcap.gz", " of tcp-udp-v4.pcap")))).toEqual(plain.epb);
  });
});

describe("analyze --evidence --filter", () => {
  it("re-reads with the same filter: only the packets the analysis counted, and every one of them", async () => {
    const r = await analyzeWithEvidence("filtered", [SAMPLE], { filter: "host 10.66.0.86" });
    const parsed = r.epb.map((cs) => cs.map(parse));
    expect(r.report.conversations.every((c) => c.client.ip === "10.66.0.86" || c.server.ip === "10.66.0.86")).toBe(true);
    for (const c of parsed.flat()) expect(r.report.conversations.some((x) => x.id === c.conversation)).toBe(true);
    // Each conversation in the file is there whole (all are shorter than the bound): its packet counts.
    const ids = new Set(parsed.flat().map((c) => c.conversation));
    expect(ids.size).toBeGreaterThan(0);
    for (const id of ids) {
      const conv = r.report.conversations.find((x) => x.id === id)!;
      expect(new Set(parsed.flat().filter((c) => c.conversation === id).map((c) => c.frame)).size).toBe(conv.packets.client + conv.packets.server);
    }
  });
});

describe("analyze --evidence: ICMP errors quoting a conversation (tcp-udp-failures.pcap)", async () => {
  const r = await analyzeWithEvidence("failures", [FAILURES]);
  const parsed = r.epb.map((cs) => cs.map(parse));
  it("the ICMP errors the conversation records list are in the file, commented as such", () => {
    for (const c of r.report.conversations.filter((x) => x.icmp !== null)) {
      for (const fr of c.icmp!.frames) {
        const at = parsed.findIndex((cs) => cs.some((x) => x.frame === fr && x.conversation === c.id && x.icmp));
        expect(at, `frame ${fr}`).toBeGreaterThanOrEqual(0);
        const f = r.report.findings.find((x) => x.conversations.includes(c.id))!;
        expect(f.evidenceFrames).toContain(at + 1);
      }
    }
    expect(parsed.flat().filter((x) => x.icmp).length).toBe(2);
  });
});

describe.skipIf(!HAVE_PUBLIC)("analyze --evidence: the bounds", () => {
  it(`a conversation of more than ${EVIDENCE_FRAMES_PER_CONVERSATION} packets: its first packets and its last ${EVIDENCE_TAIL_FRAMES}, ${EVIDENCE_FRAMES_PER_CONVERSATION} frames in all`, async () => {
    const r = await analyzeWithEvidence("big", [BIG_CONVERSATION]);
    const f = r.report.findings.find((x) => x.conversations.length === 1 && (() => { const c = r.report.conversations.find((y) => y.id === x.conversations[0])!; return c.packets.client + c.packets.server > EVIDENCE_FRAMES_PER_CONVERSATION; })())!;
    expect(f).toBeDefined();
    const conv = r.report.conversations.find((c) => c.id === f.conversations[0])!;
    const all = (await packets(BIG_CONVERSATION)).size;
    expect(all).toBeGreaterThan(EVIDENCE_FRAMES_PER_CONVERSATION);
    expect(f.evidenceFrames!.length).toBe(EVIDENCE_FRAMES_PER_CONVERSATION);
    const named = f.evidenceFrames!.map((n) => parse(r.epb[n - 1].find((c) => c.startsWith(`phoenix-netcheck: ${f.code}`))!).frame);
    // The conversation's own frames, in order, from our reader's frame numbering of its range.
    const own = named.every((n) => n >= conv.firstFrame && n <= conv.lastFrame);
    expect(own).toBe(true);
    const frames = [...(await packets(BIG_CONVERSATION)).keys()].filter((n) => n >= conv.firstFrame && n <= conv.lastFrame);
    expect(frames.length).toBe(conv.packets.client + conv.packets.server); // one conversation: its range is all its frames
    expect(named.slice(0, 30)).toEqual(frames.slice(0, 30)); // the handshake and the first packets
    expect(named.slice(-EVIDENCE_TAIL_FRAMES)).toEqual(frames.slice(-EVIDENCE_TAIL_FRAMES)); // the end
  });

  it.skipIf(!tshark)("the same, with tshark: the source frames named are tcp.stream's, first ones and last ones", async () => {
    const r = await analyzeWithEvidence("big-tshark", [BIG_CONVERSATION]);
    const f = r.report.findings.find((x) => x.evidenceFrames!.length === EVIDENCE_FRAMES_PER_CONVERSATION)!;
    const conv = r.report.conversations.find((c) => c.id === f.conversations[0])!;
    const stream = tsharkFrames(BIG_CONVERSATION, `${conv.transport}.stream == ${conv.stream}`);
    expect(stream.length).toBeGreaterThan(EVIDENCE_FRAMES_PER_CONVERSATION);
    const inFile = tsharkFrames(r.ev, `frame.comment contains "${f.code}"`);
    expect(inFile).toEqual(f.evidenceFrames);
    const named = inFile.map((n) => parse(r.epb[n - 1].find((c) => c.startsWith(`phoenix-netcheck: ${f.code}`))!).frame);
    for (const n of named) expect(stream).toContain(n);
    expect(named.slice(0, 30)).toEqual(stream.slice(0, 30));
    expect(named.slice(-EVIDENCE_TAIL_FRAMES)).toEqual(stream.slice(-EVIDENCE_TAIL_FRAMES));
  });

  it(`a finding of more than ${EVIDENCE_CONVERSATIONS_PER_FINDING} conversations (a SYN scan): its first ${EVIDENCE_CONVERSATIONS_PER_FINDING}, the rest counted as left out`, async () => {
    const r = await analyzeWithEvidence("synscan", [SYNSCAN]);
    const big = r.report.findings.filter((f) => f.conversations.length > EVIDENCE_CONVERSATIONS_PER_FINDING);
    expect(big.length).toBeGreaterThan(0);
    const parsed = r.epb.map((cs) => cs.map(parse));
    let leftOut = 0;
    for (const f of r.report.findings) {
      const listed = f.conversations.filter((id) => r.report.conversations.find((c) => c.id === id)!.aggregate === null);
      leftOut += Math.max(0, listed.length - EVIDENCE_CONVERSATIONS_PER_FINDING);
      const named = new Set(f.evidenceFrames!.flatMap((n) => parsed[n - 1].filter((c) => c.code === f.code && f.conversations.includes(c.conversation)).map((c) => c.conversation)));
      expect([...named].sort((a, b) => a - b)).toEqual(listed.slice(0, EVIDENCE_CONVERSATIONS_PER_FINDING).sort((a, b) => a - b));
    }
    expect(r.report.evidence!.conversationsLeftOut).toBe(leftOut);
    expect(leftOut).toBeGreaterThan(1000);
    expect(r.shb[0]).toContain(`${leftOut} conversations of findings left out`);
    // Small enough to attach: a scan of ~2000 conversations gives a few dozen frames.
    expect(r.report.evidence!.packets).toBeLessThan(r.report.findings.length * EVIDENCE_CONVERSATIONS_PER_FINDING * EVIDENCE_FRAMES_PER_CONVERSATION + 300);
  });
});

describe.skipIf(!HAVE_PUBLIC)("analyze --evidence with two captures", () => {
  it("comments name each packet's own capture, and the bytes are that capture's frame", async () => {
    const r = await analyzeWithEvidence("two", [FAILURES, SAMPLE]);
    const src = { "tcp-udp-failures.pcap": await packets(FAILURES), "sample.pcapng": await packets(SAMPLE) } as Record<string, Map<number, Pkt>>;
    const parsed = r.epb.map((cs) => cs.map(parse));
    expect(new Set(parsed.flat().map((c) => c.capture))).toEqual(new Set(Object.keys(src)));
    r.back.forEach((p, i) => {
      for (const c of parsed[i]) expect({ ...p, frame: c.frame }).toEqual(src[c.capture].get(c.frame));
    });
    // Conversation ids are the report's: each comment's conversation lies in the capture it names.
    for (const c of parsed.flat()) {
      const conv = r.report.conversations.find((x) => x.id === c.conversation)!;
      expect(path.basename(r.report.captures[conv.capture].file)).toBe(c.capture);
    }
  });
});

describe("--evidence destinations refused before anything is read (one line, EvidenceError → exit 2)", () => {
  it("not .pcapng, standard input among the captures, a missing directory, the report file itself", () => {
    expect(() => checkEvidenceDestination(path.join(dir, "e.pcap"), [SAMPLE], null)).toThrow(/must end in \.pcapng/);
    expect(() => checkEvidenceDestination(path.join(dir, "e.pcapng"), ["-"], null)).toThrow(/standard input cannot be read twice/);
    expect(() => checkEvidenceDestination(path.join(dir, "no/such/e.pcapng"), [SAMPLE], null)).toThrow(/does not exist/);
    expect(() => checkEvidenceDestination(path.join(dir, "same.pcapng"), [SAMPLE], path.join(dir, "same.pcapng"))).toThrow(/also the report file/);
    expect(() => checkEvidenceDestination(dir, [SAMPLE], null)).toThrow(EvidenceError);
  });

  it("a named pipe among the captures: refused, as standard input is (a second read would wait for a writer)", () => {
    const fifo = path.join(dir, "in.fifo");
    execFileSync("mkfifo", [fifo]);
    expect(() => checkEvidenceSources([SAMPLE, fifo])).toThrow(`--evidence re-reads the captures after the analysis, and ${fifo} is a pipe, which cannot be read twice: save it to a file first and analyze the file`);
    expect(() => checkEvidenceSources([SAMPLE, "-", path.join(dir, "missing.pcap")])).not.toThrow();
  });

  it("an input capture under another name (a hard link: same device and inode) is not written over", async () => {
    const copy = path.join(dir, "input-copy.pcapng");
    copyFileSync(SAMPLE, copy);
    const alias = path.join(dir, "alias.pcapng");
    linkSync(copy, alias);
    const before = readFileSync(copy);
    const json = path.join(dir, "refused.json");
    await expect(runAnalyze([copy], opts({ evidence: alias, output: json }))).rejects.toThrow(/is the input capture .*refusing to write over it/);
    expect(readFileSync(copy).equals(before)).toBe(true);
    expect(existsSync(json)).toBe(false); // refused before the analysis: no report either
  });

  it("an existing evidence file is refused without --force, and with it replaced whole (temporary file, then rename): no temporary file is left", async () => {
    const ev = path.join(dir, "replace.pcapng");
    writeFileSync(ev, "old contents");
    await expect(runAnalyze([FAILURES], opts({ evidence: ev, output: path.join(dir, "replace-refused.json") }))).rejects.toThrow(/exists: give --force/);
    expect(readFileSync(ev, "utf8")).toBe("old contents");
    expect(await runAnalyze([FAILURES], opts({ evidence: ev, output: path.join(dir, "replace.json"), force: true }))).not.toBe(2);
    expect(readFileSync(ev).readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

describe("--evidence that cannot be written after the analysis", () => {
  it("the report comes back without evidence, one line says why, no temporary file is left", async () => {
    const report = await reportFor([SAMPLE]);
    const sub = mkdtempSync(path.join(dir, "gone-"));
    const copy = path.join(sub, "sample.pcapng");
    copyFileSync(SAMPLE, copy);
    rmSync(copy); // the capture went away between the analysis and the evidence
    let err = "";
    const stderr = new PassThrough();
    stderr.setEncoding("utf8").on("data", (t: string) => (err += t));
    const r = await addEvidence(report, path.join(sub, "ev.pcapng"), { sources: [copy], reportFile: null, application: "t", quiet: true, stderr });
    expect(r.report).toBe(report);
    expect(r.report.evidence).toBeUndefined();
    expect(r.error).toMatch(/^--evidence .*ev\.pcapng: not written \(.*sample\.pcapng.*\); the report is written without it$/);
    expect(err).toBe(`phoenix-netcheck: ${r.error}\n`); // printed even with quiet
    expect(readdirSync(sub)).toEqual([]);
  });

  // The name was checked before the analysis; a file that appeared under it since (another run,
  // another program) is not replaced without --force: link(2), not rename(2), puts the file in place.
  it("a file that appeared under the name since the check is left as it is without --force, replaced whole with it", async () => {
    const report = await reportFor([SAMPLE]);
    const sub = mkdtempSync(path.join(dir, "appeared-"));
    const ev = path.join(sub, "ev.pcapng");
    writeFileSync(ev, "someone else's file\n");
    const stderr = new PassThrough();
    const r = await addEvidence(report, ev, { sources: [SAMPLE], reportFile: null, application: "t", quiet: true, stderr });
    expect(r.error).toMatch(/^--evidence .*ev\.pcapng: not written \(it was created by something else while this ran and was left as it is \(use --force to replace it\)\); the report is written without it$/);
    expect(readFileSync(ev, "utf8")).toBe("someone else's file\n");
    expect(readdirSync(sub)).toEqual(["ev.pcapng"]);
    const forced = await addEvidence(report, ev, { sources: [SAMPLE], reportFile: null, application: "t", quiet: true, stderr, replace: true });
    expect(forced.error).toBeNull();
    expect(forced.report.evidence!.sha256).toBe(createHash("sha256").update(readFileSync(ev)).digest("hex"));
    expect(readdirSync(sub)).toEqual(["ev.pcapng"]);
  });
});

const mainJs = path.join(REPO_ROOT, "dist/cli/main.js");
describe.skipIf(!existsSync(mainJs))("the command line", () => {
  it("a refused destination: exit 2 and one line on standard error, nothing written", () => {
    const json = path.join(dir, "cli-refused.json");
    let code = 0;
    let err = "";
    try {
      execFileSync(process.execPath, [mainJs, "analyze", SAMPLE, "-o", json, "--evidence", path.join(dir, "x.pcap")], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
    } catch (e) {
      code = (e as { status: number }).status;
      err = (e as { stderr: string }).stderr;
    }
    expect(code).toBe(2);
    expect(err.trim().split("\n")).toEqual([`phoenix-netcheck: --evidence writes pcapng: the file name must end in .pcapng, got "${path.join(dir, "x.pcap")}"`]);
    expect(existsSync(json)).toBe(false);
  });
});

if (!existsSync(mainJs)) console.warn("evidence: the command-line test is skipped: run `npm run build` first (dist/cli/main.js is missing)");
if (!HAVE_PUBLIC) console.warn(`evidence bounds tests: ${SKIP_MESSAGE}`);
