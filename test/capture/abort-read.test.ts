/**
 * A read given an AbortSignal (the CLI always gives one, for Ctrl-C) must not keep the chunks it
 * has read past alive. Racing every read against one long-lived "aborted" promise did: each race
 * left a reaction on it holding that read's chunk, so a piped or gzip input stayed in memory whole
 * (934 MiB peak on a 604 MB pipe; `npm run bench` measures the gzip copy). Checked here without
 * timing: after the read, a full collection must free the chunks (WeakRefs to them clear).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { readCaptureFrom } from "../../src/capture/index.js";
import { cat } from "../decode/build.js";
import { pcapHeader, pcapRecord } from "./build.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** One 60-byte Ethernet frame (content does not matter to the reader: zeros). */
const FRAME = new Uint8Array(60);
const CHUNKS = 200;

/** A pcap stream as CHUNKS fresh chunks of one record each (the header first), each tracked by a WeakRef. */
function stream(refs: WeakRef<Uint8Array>[]): AsyncGenerator<Uint8Array> {
  return (async function* () {
    yield pcapHeader({ le: true, snaplen: 65535, linkType: 1 });
    for (let i = 0; i < CHUNKS; i++) {
      const chunk = cat(pcapRecord(true, 1_700_000_000, i, FRAME));
      refs.push(new WeakRef(chunk));
      yield chunk;
    }
  })();
}

async function survivors(signal: AbortSignal | undefined): Promise<{ packets: number; alive: number }> {
  const refs: WeakRef<Uint8Array>[] = [];
  const summary = await readCaptureFrom(stream(refs), "piped", () => undefined, { signal });
  // WeakRef targets are kept to the end of the job that made them: let it end, then collect.
  await new Promise((r) => setImmediate(r));
  gc();
  return { packets: summary.packets, alive: refs.filter((r) => r.deref() !== undefined).length };
}

describe("a read with an AbortSignal keeps no chunk it has read past", () => {
  it("the chunks of a stream read with a signal are freed after the read (the controller still alive)", async () => {
    const controller = new AbortController();
    const r = await survivors(controller.signal);
    expect(r.packets).toBe(CHUNKS);
    // The last chunk or two may still be referenced by the generator's frame; the rest must go.
    expect(r.alive).toBeLessThanOrEqual(2);
    expect(controller.signal.aborted).toBe(false);
  });

  it("the same without a signal (the control)", async () => {
    const r = await survivors(undefined);
    expect(r.packets).toBe(CHUNKS);
    expect(r.alive).toBeLessThanOrEqual(2);
  });

  it("an abort while a read waits still ends the read, marked interrupted", async () => {
    const controller = new AbortController();
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield pcapHeader({ le: true, snaplen: 65535, linkType: 1 });
      yield pcapRecord(true, 1_700_000_000, 0, FRAME);
      controller.abort();
      await new Promise(() => undefined); // a pipe that never sends again
    }
    const s = await readCaptureFrom(stalls(), "piped", () => undefined, { signal: controller.signal });
    expect(s.packets).toBe(1);
    expect(s.interrupted).toBe(true);
  });
});
