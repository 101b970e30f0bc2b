/**
 * The HTML report in a real browser: Debian's `chromium`, headless, driven over the DevTools
 * protocol (cdp.ts, no npm package). Reports come from the real pipeline on the recorded captures,
 * are written to a temp dir and opened from file:// URLs, as a person would open one.
 *
 * Skipped, saying so, when no Chromium binary is found (apt-get install chromium, or set
 * CHROMIUM_BIN). PNC_SCREENSHOT=path/to.png keeps the screenshot of the main page for a look.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import { builtinMatrix } from "../../src/policy/matrix.js";
import { VERDICT_COLOURS } from "../../src/report/html-assets.js";
import { renderHtml } from "../../src/report/html.js";
import type { Report } from "../../src/report/record.js";
import { Browser, findChromium } from "./cdp.js";
import { decodePng, shareOfColour } from "./png.js";

const bin = findChromium();
if (!bin) console.warn("test/browser/html.test.ts: SKIPPED — no chromium binary on PATH (apt-get install chromium, or set CHROMIUM_BIN)");
const FIXTURES = path.resolve(__dirname, "../../fixtures/recorded");
const PUBLIC = path.resolve(__dirname, "../../../shared/captures/public");
const WIDTH = 1280;
const HEIGHT = 900;
// The capture with the most to show: a proxy, refused/blocked/unanswered ports, IPv4 and IPv6.
const MAIN = path.join(FIXTURES, "tcp-udp-failures.pcap");
const MAIN_ROLES = ["proxy=10.77.0.10"];

function rgb(hex: string): [number, number, number] {
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

function hostsOf(r: Report): Set<string> {
  return new Set(r.conversations.flatMap((c) => [c.client.ip, c.server.ip]));
}

describe.skipIf(!bin)(bin ? "HTML report in headless Chromium" : "HTML report in headless Chromium — SKIPPED: no chromium binary on PATH (apt-get install chromium, or set CHROMIUM_BIN)", () => {
  let browser: Browser;
  let session: string;
  let dir: string;
  let mainReport: Report;
  let mainUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "pnc-html-"));
    mainReport = await reportFor([MAIN], { role: MAIN_ROLES });
    const file = path.join(dir, "report.html");
    writeFileSync(file, renderHtml(mainReport, { matrixRows: builtinMatrix().rows }));
    mainUrl = pathToFileURL(file).href;
    browser = Browser.launch(bin!, WIDTH, HEIGHT);
    session = await browser.page();
    for (const domain of ["Page", "Runtime", "Log", "Network"]) await browser.send(`${domain}.enable`, {}, session);
    await browser.send("Emulation.setDeviceMetricsOverride", { width: WIDTH, height: HEIGHT, deviceScaleFactor: 1, mobile: false }, session);
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Load a URL and return the index of the first event that belongs to this load. */
  async function load(url: string): Promise<number> {
    const since = browser.events.length;
    await browser.send("Page.navigate", { url }, session);
    await browser.waitFor((e) => e.method === "Page.loadEventFired" && e.sessionId === session, 15_000, since);
    return since;
  }

  async function evaluate<T>(expression: string): Promise<T> {
    const res = await browser.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, session);
    if (res.exceptionDetails) throw new Error(`in page: ${res.exceptionDetails.exception?.description ?? res.exceptionDetails.text}`);
    return res.result.value as T;
  }

  /** Console errors and warnings, uncaught exceptions, and browser log errors (CSP, failed loads) since `since`. */
  function problems(since: number): string[] {
    const out: string[] = [];
    for (const e of browser.events.slice(since)) {
      if (e.sessionId !== session) continue;
      if (e.method === "Runtime.consoleAPICalled" && ["error", "warning", "assert"].includes(e.params.type)) {
        out.push(`console.${e.params.type}: ${e.params.args.map((a: { value?: unknown; description?: string }) => a.value ?? a.description).join(" ")}`);
      }
      if (e.method === "Runtime.exceptionThrown") out.push(`exception: ${e.params.exceptionDetails.exception?.description ?? e.params.exceptionDetails.text}`);
      if (e.method === "Log.entryAdded" && (e.params.entry.level === "error" || e.params.entry.level === "warning")) out.push(`log ${e.params.entry.level}: ${e.params.entry.text}`);
    }
    return out;
  }

  /** Every URL the page asked for since `since`. */
  function requests(since: number): string[] {
    return browser.events.slice(since).filter((e) => e.sessionId === session && e.method === "Network.requestWillBeSent").map((e) => e.params.request.url as string);
  }

  async function click(selector: string): Promise<void> {
    // Scroll it into view, let two frames pass (off-screen tables are laid out only when shown:
    // content-visibility), then click its middle, after checking that nothing covers that point.
    const box = await evaluate<{ x: number; y: number; hit: boolean } | null>(`(async () => {
      const el = document.querySelector(${JSON.stringify(selector)});
      if (!el) return null;
      el.scrollIntoView({ block: "center" });
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const r = el.getBoundingClientRect();
      const x = r.left + r.width / 2, y = r.top + r.height / 2, at = document.elementFromPoint(x, y);
      return { x, y, hit: !!at && (el === at || el.contains(at)) };
    })()`);
    if (!box) throw new Error(`nothing matches ${selector}`);
    if (!box.hit) throw new Error(`${selector} is covered at (${box.x}, ${box.y})`);
    for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
      await browser.send("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: type === "mouseMoved" ? 0 : 1 }, session);
    }
  }

  /** Column index of a header of the conversations table, found by its text. */
  async function convColumn(text: string): Promise<number> {
    const i = await evaluate<number>(`[...document.querySelectorAll("#t-conv thead th")].findIndex((th) => th.textContent === ${JSON.stringify(text)})`);
    expect(i).toBeGreaterThanOrEqual(0);
    return i;
  }

  async function columnKeys(col: number): Promise<string[]> {
    return evaluate<string[]>(`[...document.querySelectorAll("#t-conv tbody tr")].map((tr) => tr.cells[${col}].getAttribute("data-v") ?? tr.cells[${col}].textContent)`);
  }

  it("opens from file:// with no error and no request off the file; the verdict is on screen and the diagram is drawn", async () => {
    const since = await load(mainUrl);
    expect(await evaluate<string | null>(`document.documentElement.getAttribute("data-ready")`)).toBe("1");
    expect(await evaluate<string | null>(`document.documentElement.getAttribute("data-errors")`)).toBeNull();
    expect(problems(since)).toEqual([]);
    for (const url of requests(since)) expect(url).toMatch(/^(file|data):/);

    // The verdict, in words and counts, within the first screen.
    const verdict = mainReport.summary.verdict;
    const v = await evaluate<{ text: string; top: number; bottom: number; left: number; right: number; counts: string; band: { x: number; y: number; width: number; height: number } }>(`(() => {
      window.scrollTo(0, 0);
      const el = document.getElementById("verdict"), r = el.getBoundingClientRect(), b = document.getElementById("verdict-banner").getBoundingClientRect();
      return { text: el.innerText, top: r.top, bottom: r.bottom, left: r.left, right: r.right,
               counts: document.querySelector(".counts").innerText, band: { x: b.left, y: b.top, width: b.width, height: b.height } };
    })()`);
    expect(v.text).toBe(verdict.toUpperCase());
    expect(v.top).toBeGreaterThanOrEqual(0);
    expect(v.bottom).toBeLessThanOrEqual(HEIGHT);
    const f = mainReport.summary.findings;
    expect(v.counts).toContain(`${f.error} error`);
    expect(v.counts).toContain(`${f.warning} warning`);

    // One box per host seen, inside a drawn SVG.
    const svg = await evaluate<{ boxes: number; width: number; height: number; chips: string[] }>(`(() => {
      const s = document.querySelector("svg#ports-diagram"), r = s.getBoundingClientRect();
      return { boxes: s.querySelectorAll(".boxes rect").length, width: r.width, height: r.height,
               chips: [...s.querySelectorAll(".chips text")].map((t) => t.textContent) };
    })()`);
    expect(svg.boxes).toBe(hostsOf(mainReport).size);
    expect(svg.width).toBeGreaterThan(300);
    expect(svg.height).toBeGreaterThan(80);
    for (const c of mainReport.conversations) expect(svg.chips).toContain(`${c.server.port}/${c.transport}`);

    // The screenshot: the banner is painted in the verdict's colour, and text in its ink sits in the verdict box.
    const shot = await browser.send("Page.captureScreenshot", { format: "png" }, session);
    const png = Buffer.from(shot.data as string, "base64");
    const img = decodePng(png);
    expect(img.width).toBe(WIDTH);
    const colours = VERDICT_COLOURS[verdict];
    expect(shareOfColour(img, v.band, rgb(colours.background))).toBeGreaterThan(0.5);
    const box = { x: v.left + 6, y: v.top + 6, width: v.right - v.left - 12, height: v.bottom - v.top - 12 };
    expect(shareOfColour(img, box, rgb(colours.ink), 40)).toBeGreaterThan(0.05);
    if (process.env.PNC_SCREENSHOT) writeFileSync(process.env.PNC_SCREENSHOT, png);
  });

  // A desktop a little wider than the page's widest layout, and a phone (390 × 844 CSS px).
  const SCREENS = [
    { name: "desktop", width: 1400, height: 900, mobile: false },
    { name: "phone", width: 390, height: 844, mobile: true },
  ];
  for (const screen of SCREENS) {
    it(`at ${screen.width} px (${screen.name}): no horizontal page scroll, nothing wider than the screen outside a scroll box, verdict and first fix on the first screen`, async () => {
      await browser.send("Emulation.setDeviceMetricsOverride", { width: screen.width, height: screen.height, deviceScaleFactor: 1, mobile: screen.mobile }, session);
      try {
        const since = await load(mainUrl);
        expect(problems(since)).toEqual([]);
        const m = await evaluate<{
          inner: number; innerH: number; scrollW: number; wide: string[]; verdict: { top: number; bottom: number; left: number; right: number };
          fix: { top: number; bottom: number; text: string } | null; checklist: number; tables: { id: string; scrollW: number; clientW: number }[];
        }>(`(() => {
          window.scrollTo(0, 0);
          const W = window.innerWidth;
          // Inside a box that scrolls (or clips) sideways, an element may be wider: the box is what must fit.
          const boxed = (el) => { for (let p = el.parentElement; p; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if (o === "auto" || o === "scroll" || o === "hidden") return true; } return false; };
          const wide = [];
          for (const el of document.body.querySelectorAll("*")) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue;
            if ((r.right > W + 0.5 || r.left < -0.5) && !boxed(el)) wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : "") + " " + Math.round(r.left) + "–" + Math.round(r.right));
          }
          const v = document.getElementById("verdict").getBoundingClientRect();
          const li = document.querySelector("ol.fix-first li");
          const f = li ? li.getBoundingClientRect() : null;
          return { inner: W, innerH: window.innerHeight, scrollW: document.documentElement.scrollWidth, wide: wide.slice(0, 20),
                   verdict: { top: v.top, bottom: v.bottom, left: v.left, right: v.right },
                   fix: f ? { top: f.top, bottom: f.bottom, text: li.textContent } : null,
                   checklist: document.querySelectorAll("#checklist + .checklist > .card").length,
                   tables: [...document.querySelectorAll(".tablewrap")].map((w) => ({ id: w.querySelector("table").id, scrollW: w.scrollWidth, clientW: w.clientWidth })) };
        })()`);
        expect(m.inner).toBe(screen.width);
        expect(m.scrollW).toBeLessThanOrEqual(screen.width);
        expect(m.wide).toEqual([]);
        // The verdict and the first "what to fix first" line are on screen without scrolling.
        expect(m.verdict.top).toBeGreaterThanOrEqual(0);
        expect(m.verdict.bottom).toBeLessThanOrEqual(screen.height);
        expect(m.verdict.right).toBeLessThanOrEqual(screen.width);
        expect(mainReport.summary.fixFirst.length).toBeGreaterThan(0);
        expect(m.fix).not.toBeNull();
        expect(m.fix!.text).toBe(mainReport.summary.fixFirst[0].text);
        expect(m.fix!.bottom).toBeLessThanOrEqual(screen.height);
        // One checklist card per host with something to change; the proxy's addresses share one.
        expect(m.checklist).toBe(new Set(mainReport.summary.fixFirst.map((x) => (x.role === "proxy" ? "the proxy" : x.host))).size);
        // At 1400 px every table fits its box: no sideways scrolling. On a phone a table scrolls inside its own box.
        expect(m.tables.map((t) => t.id)).toEqual(expect.arrayContaining(["t-matrix", "t-roles", "t-conv", "t-captures"]));
        if (!screen.mobile) for (const t of m.tables) expect(t.scrollW, t.id).toBeLessThanOrEqual(t.clientW);

        const shot = await browser.send("Page.captureScreenshot", { format: "png" }, session);
        const png = Buffer.from(shot.data as string, "base64");
        const img = decodePng(png);
        expect(img.width).toBe(screen.width);
        expect(img.height).toBe(screen.height);
        const colours = VERDICT_COLOURS[mainReport.summary.verdict];
        const box = { x: m.verdict.left + 4, y: m.verdict.top + 4, width: m.verdict.right - m.verdict.left - 8, height: m.verdict.bottom - m.verdict.top - 8 };
        expect(shareOfColour(img, box, rgb(colours.ink), 40)).toBeGreaterThan(0.05);
        expect(shareOfColour(img, { x: 0, y: 0, width: screen.width, height: Math.max(1, m.verdict.top) }, rgb(colours.background))).toBeGreaterThan(0.5);
        if (process.env.PNC_SCREENSHOT) writeFileSync(process.env.PNC_SCREENSHOT.replace(/\.png$/, "") + `-${screen.width}.png`, png);
      } finally {
        await browser.send("Emulation.setDeviceMetricsOverride", { width: WIDTH, height: HEIGHT, deviceScaleFactor: 1, mobile: false }, session);
      }
    });
  }

  it("sorts the conversations table when a header is clicked, both ways", async () => {
    await load(mainUrl);
    const col = await convColumn("Port");
    const ports = mainReport.conversations.map((c) => c.server.port);
    expect(new Set(ports).size).toBeGreaterThan(1); // else the order could not tell
    await click(`#t-conv thead th:nth-child(${col + 1})`);
    expect((await columnKeys(col)).map(Number)).toEqual([...ports].sort((a, b) => a - b));
    expect(await evaluate<string>(`document.querySelectorAll("#t-conv thead th")[${col}].getAttribute("aria-sort")`)).toBe("ascending");
    await click(`#t-conv thead th:nth-child(${col + 1})`);
    expect((await columnKeys(col)).map(Number)).toEqual([...ports].sort((a, b) => b - a));
    expect(await evaluate<string>(`document.querySelectorAll("#t-conv thead th")[${col}].getAttribute("aria-sort")`)).toBe("descending");
    // Sorting by an address column orders IPv4 numerically before IPv6.
    const ipCol = await convColumn("Server");
    await click(`#t-conv thead th:nth-child(${ipCol + 1})`);
    const shown = await evaluate<string[]>(`[...document.querySelectorAll("#t-conv tbody tr")].map((tr) => tr.cells[${ipCol}].textContent)`);
    const v4 = shown.filter((s) => s.includes("."));
    expect(shown.slice(0, v4.length)).toEqual(v4);
  });

  it("sorts on load from ?sort=TABLE:COLUMN:desc", async () => {
    const col = await (async () => (await load(mainUrl), convColumn("#")))();
    const since = await load(`${mainUrl}?sort=t-conv:${col}:desc`);
    expect(problems(since)).toEqual([]);
    expect((await columnKeys(col)).map(Number)).toEqual(mainReport.conversations.map((c) => c.id).sort((a, b) => b - a));
  });

  it("copies a Wireshark filter, or selects it where the clipboard is refused", async () => {
    const since = await load(mainUrl);
    const id = await evaluate<string>(`document.querySelector("button[data-copy]").getAttribute("data-copy")`);
    await click(`button[data-copy="${id}"]`);
    await new Promise((r) => setTimeout(r, 300));
    const state = await evaluate<{ label: string; selected: string; filter: string }>(`({ label: document.querySelector('button[data-copy="${id}"]').textContent,
      selected: String(window.getSelection()), filter: document.getElementById("${id}").textContent })`);
    expect(mainReport.findings.map((f) => f.wiresharkFilter)).toContain(state.filter);
    expect(["Copied", "Selected: press Ctrl+C"]).toContain(state.label);
    if (state.label !== "Copied") expect(state.selected).toBe(state.filter);
    expect(problems(since)).toEqual([]);
  });

  it("clicking a port chip in the diagram lists exactly its conversations", async () => {
    await load(mainUrl);
    const chip = await evaluate<{ title: string; text: string }>(`(() => { const g = document.querySelector("svg#ports-diagram .chips [data-convs]");
      return { title: g.querySelector("title").textContent, text: g.querySelector("text").textContent }; })()`);
    const m = /^(\S+)(?: \([^)]*\))? → (\S+)/.exec(chip.title);
    expect(m).not.toBeNull();
    const expected = mainReport.conversations
      .filter((c) => c.client.ip === m![1] && c.server.ip === m![2] && `${c.server.port}/${c.transport}` === chip.text)
      .map((c) => String(c.id));
    expect(expected.length).toBeGreaterThan(0);
    await click(`svg#ports-diagram .chips [data-convs]`);
    const shown = await evaluate<{ ids: string[]; bar: boolean }>(`({ ids: [...document.querySelectorAll("#t-conv tbody tr")].filter((tr) => !tr.hidden).map((tr) => tr.getAttribute("data-id")),
      bar: !document.getElementById("conv-filter").hidden })`);
    expect(shown.ids.sort()).toEqual(expected.sort());
    expect(shown.bar).toBe(true);
    await click(`#conv-filter button`);
    expect(await evaluate<number>(`[...document.querySelectorAll("#t-conv tbody tr")].filter((tr) => !tr.hidden).length`)).toBe(mainReport.conversations.length);
  });

  it("every recorded capture's report opens without error and shows its verdict", async () => {
    const files = readdirSync(FIXTURES).filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f)).sort();
    expect(files.length).toBeGreaterThan(5);
    let sni = 0;
    for (const f of files) {
      const r = await reportFor([path.join(FIXTURES, f)]);
      const file = path.join(dir, `${f}.html`);
      writeFileSync(file, renderHtml(r, { matrixRows: builtinMatrix().rows }));
      const since = await load(pathToFileURL(file).href);
      expect(problems(since), f).toEqual([]);
      expect(await evaluate<string | null>(`document.documentElement.getAttribute("data-ready")`), f).toBe("1");
      expect(await evaluate<string>(`document.getElementById("verdict").innerText`), f).toBe(r.summary.verdict.toUpperCase());
      expect(await evaluate<number>(`document.querySelectorAll("#t-conv tbody tr").length`), f).toBe(r.conversations.length);
      // No sideways page scroll, and every SNI is shown as a name beside its server's address.
      expect(await evaluate<boolean>(`document.documentElement.scrollWidth <= window.innerWidth`), f).toBe(true);
      const names = await evaluate<string[]>(`[...document.querySelectorAll("#t-conv .hn")].map((e) => e.title)`);
      for (const c of r.conversations) if (c.tls?.sni) expect(names.some((t) => t.includes(`${c.tls!.sni!.replace(/\.$/, "")} (`)), `${f}: ${c.tls.sni}`).toBe(true);
      sni += r.conversations.filter((c) => c.tls?.sni).length;
    }
    expect(sni).toBeGreaterThan(0); // else the name check above checked nothing
  });

  it.skipIf(!existsSync(PUBLIC))("a port scan of 1,994 conversations opens and sorts by click (public corpus)", async () => {
    const r = await reportFor([path.join(PUBLIC, "synscan-incl-902-903-3389-22-443.pcap")]);
    const file = path.join(dir, "synscan.html");
    writeFileSync(file, renderHtml(r, { matrixRows: builtinMatrix().rows }));
    const since = await load(pathToFileURL(file).href);
    expect(problems(since)).toEqual([]);
    expect(await evaluate<string>(`document.getElementById("verdict").innerText`)).toBe(r.summary.verdict.toUpperCase());
    const col = await convColumn("Port");
    await click(`#t-conv thead th:nth-child(${col + 1})`);
    expect((await columnKeys(col)).map(Number)).toEqual(r.conversations.map((c) => c.server.port).sort((a, b) => a - b));
    // Two hosts, hundreds of ports: one arrow, a few chips and a "+N ports" chip, not hundreds.
    const chips = await evaluate<string[]>(`[...document.querySelectorAll("svg#ports-diagram .chips text")].map((t) => t.textContent)`);
    expect(chips.length).toBeLessThanOrEqual(4);
    expect(chips.some((c) => /^\+\d+ ports$/.test(c))).toBe(true);
    if (process.env.PNC_SCREENSHOT) {
      const shot = await browser.send("Page.captureScreenshot", { format: "png" }, session);
      writeFileSync(process.env.PNC_SCREENSHOT.replace(/\.png$/, "") + "-synscan.png", Buffer.from(shot.data as string, "base64"));
    }
  });
});
