/**
 * The progress line: shown only when enabled on a terminal, at most 10 redraws a second, never
 * wider than the terminal, without percent/ETA when the size is unknown, erased at the end.
 * A fake stream records what was written; a fake clock says what time it is.
 */
import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, Progress, progressLine } from "../../src/cli/progress.js";

class FakeStream {
  writes: string[] = [];
  constructor(
    public isTTY: boolean,
    public columns = 80,
  ) {}
  write(s: string): boolean {
    this.writes.push(s);
    return true;
  }
  /** What a terminal would show: the text after the last \r of everything written. */
  get screen(): string {
    const all = this.writes.join("");
    return all.slice(all.lastIndexOf("\r", all.endsWith("\r") ? all.length - 2 : all.length) + 1);
  }
}

function clock(start = 1000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const MB = 1_000_000;

describe("when it draws", () => {
  it("draws nothing when not enabled, even on a terminal", () => {
    const s = new FakeStream(true);
    const p = new Progress(s, { enabled: false, now: clock().now });
    p.update("a.pcap", 10, 100, 1);
    p.done();
    expect(s.writes).toEqual([]);
  });

  it("draws nothing when the stream is not a terminal, even when enabled", () => {
    const s = new FakeStream(false);
    const p = new Progress(s, { enabled: true, now: clock().now });
    p.update("a.pcap", 10, 100, 1);
    p.done();
    expect(s.writes).toEqual([]);
  });

  it("redraws at most 10 times a second", () => {
    const s = new FakeStream(true);
    const c = clock();
    const p = new Progress(s, { enabled: true, now: c.now });
    // 2000 updates, one every millisecond: 2 s → the first draw and then one per 100 ms.
    for (let i = 0; i < 2000; i++) {
      p.update("a.pcap", i * 1000, 2000 * 1000, i);
      c.t += 1;
    }
    expect(s.writes.length).toBe(20);
    for (const w of s.writes) expect(w.startsWith("\r")).toBe(true);
  });

  it("draws at once when the file changes, and rates start again for the new file", () => {
    const s = new FakeStream(true);
    const c = clock();
    const p = new Progress(s, { enabled: true, now: c.now });
    p.update("first.pcap", 0, 10 * MB, 0);
    c.t += 1000;
    p.update("first.pcap", 10 * MB, 10 * MB, 5000);
    c.t += 10; // well inside the 100 ms interval
    p.update("second.pcap", 1 * MB, 4 * MB, 100);
    expect(s.writes.length).toBe(3);
    expect(s.writes[1]).toContain("10.0 MB/s");
    expect(s.writes[2]).toContain("second.pcap");
    // No elapsed time yet for the second file: no rate, no ETA.
    expect(s.writes[2]).not.toContain("/s");
    expect(s.writes[2]).not.toContain("ETA");
  });
});

describe("what it shows", () => {
  it("bytes read / size, percent, packets, MB/s, packets/s and ETA for a file of known size", () => {
    const s = new FakeStream(true, 120);
    const c = clock();
    const p = new Progress(s, { enabled: true, now: c.now });
    p.update("/tmp/x/capture.pcap", 0, 100 * MB, 0);
    c.t += 2000; // 2 s later: 40 MB read, 300 000 packets
    p.update("/tmp/x/capture.pcap", 40 * MB, 100 * MB, 300_000);
    const line = s.writes[1].slice(1);
    expect(line.startsWith("capture.pcap [========>           ]")).toBe(true);
    expect(line).toContain("40%");
    expect(line).toContain("40.0/100.0 MB");
    expect(line).toContain("300,000 pkts");
    expect(line).toContain("20.0 MB/s"); // 40 MB in 2 s
    expect(line).toContain("150.0k pkt/s"); // 300 000 in 2 s
    expect(line).toContain("ETA 0:03"); // 60 MB left at 20 MB/s
    expect(line).not.toContain("/tmp/x"); // the base name only
  });

  it("with an unknown size (standard input): bytes and rates, no bar, percent or ETA", () => {
    const s = new FakeStream(true);
    const c = clock();
    const p = new Progress(s, { enabled: true, now: c.now });
    p.update("-", 0, null, 0);
    c.t += 500;
    p.update("-", 5 * MB, null, 1234);
    const line = s.writes[1].slice(1);
    expect(line).toBe("-  5.0 MB  1,234 pkts  10.0 MB/s  2.5k pkt/s");
  });

  it("never wider than the terminal less one column, cutting the name from the left", () => {
    for (const columns of [200, 80, 60, 40, 20]) {
      const s = new FakeStream(true, columns);
      const c = clock();
      const p = new Progress(s, { enabled: true, now: c.now });
      const name = "/captures/a-very-long-capture-file-name-from-the-customer-site-esxi-07.pcapng";
      p.update(name, 0, 3 * MB, 0);
      c.t += 1000;
      p.update(name, 1 * MB, 3 * MB, 10_000);
      for (const w of s.writes) expect(w.replace(/^\r/, "").length).toBeLessThanOrEqual(columns - 1);
      if (columns === 80) {
        const line = s.writes[1].slice(1);
        expect(line.startsWith("…")).toBe(true);
        expect(line).toContain("esxi-07.pcapng  33%");
      }
      if (columns === 200) {
        const line = s.writes[1].slice(1);
        expect(line.startsWith(name.slice(name.lastIndexOf("/") + 1) + " [======>             ]  33%")).toBe(true);
      }
    }
  });

  it("defaults to 80 columns when the stream does not say", () => {
    const s = { isTTY: true, writes: [] as string[], write(t: string) { this.writes.push(t); return true; } };
    const c = clock();
    const p = new Progress(s, { enabled: true, now: c.now });
    p.update("x".repeat(300) + ".pcap", 1, 2, 1);
    expect(s.writes[0].length - 1).toBe(79);
  });

  it("pads a shorter line over the tail of a longer one", () => {
    const s = new FakeStream(true, 200);
    const c = clock();
    const p = new Progress(s, { enabled: true, now: c.now });
    p.update("a-long-name-here.pcap", 0, 10 * MB, 0);
    c.t += 1000;
    p.update("b.pcap", 1 * MB, null, 1);
    const first = s.writes[0].length;
    expect(s.writes[1].length).toBe(first); // same width: the old tail is blanked
    expect(s.writes[1].trimEnd().length).toBeLessThan(first);
  });
});

describe("done()", () => {
  it("erases the line it drew and leaves the cursor at the start", () => {
    const s = new FakeStream(true);
    const c = clock();
    const p = new Progress(s, { enabled: true, now: c.now });
    p.update("a.pcap", 0, 100, 0);
    const drawn = s.writes[0].length - 1;
    p.done();
    const last = s.writes[s.writes.length - 1];
    expect(last).toBe(`\r${" ".repeat(drawn)}\r`);
    expect(s.screen.trim()).toBe("");
  });

  it("writes nothing when nothing was drawn, and can be called twice", () => {
    const s = new FakeStream(true);
    const p = new Progress(s, { enabled: true, now: clock().now });
    p.done();
    p.done();
    expect(s.writes).toEqual([]);
  });

  it("after done() the next update draws at once", () => {
    const s = new FakeStream(true);
    const c = clock();
    const p = new Progress(s, { enabled: true, now: c.now });
    p.update("a.pcap", 0, 100, 0);
    p.done();
    c.t += 1;
    p.update("a.pcap", 50, 100, 1);
    expect(s.writes.length).toBe(3);
    expect(s.writes[2]).toContain("50%");
  });
});

describe("progressLine and its units", () => {
  it("formats bytes in decimal units and durations as m:ss / h:mm:ss", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1500)).toBe("1.5 kB");
    expect(formatBytes(12_345_678)).toBe("12.3 MB");
    expect(formatBytes(2_500_000_000)).toBe("2.50 GB");
    expect(progressLine({ file: "-", bytesRead: 999_000, fileSize: 1_200_000, packets: 0, elapsedMs: 0, bytesAtStart: 0, packetsAtStart: 0 }, 80)).toBe(
      "- [================>   ]  83%  999.0 kB/1.2 MB  0 pkts",
    );
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(59.2)).toBe("1:00");
    expect(formatDuration(3725)).toBe("1:02:05");
  });

  it("a file read to the end shows 100%, a full bar and ETA 0:00", () => {
    const line = progressLine({ file: "a.pcap", bytesRead: 10, fileSize: 10, packets: 3, elapsedMs: 1000, bytesAtStart: 0, packetsAtStart: 0 }, 100);
    expect(line).toBe(`a.pcap [${"=".repeat(20)}]  100%  10/10 B  3 pkts  10 B/s  3 pkt/s  ETA 0:00`);
  });
});
