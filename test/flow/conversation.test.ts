/**
 * The conversation record's own memory layout (src/flow/conversation.ts): address and MAC bytes
 * cut from shared slabs must still be each conversation's own, and the plain copy a view keeps
 * (snapshotOf) shares those arrays only when asked to.
 */
import { describe, expect, it } from "vitest";
import { Conversation, snapshotOf } from "../../src/flow/conversation.js";
import { sampleIsEmpty, sampleOf } from "../../src/flow/sample.js";
import { TcpTracker } from "../../src/flow/tcp/index.js";
import { hasNoPayload } from "../../src/detect/text.js";

describe("Conversation address bytes", () => {
  it("are each conversation's own, across slab boundaries (64 KiB of 44 bytes: ~1,490 a slab)", () => {
    const convs = Array.from({ length: 5000 }, () => new Conversation());
    convs.forEach((c, i) => {
      c.clientIp.fill(i & 0xff);
      c.serverIp.fill((i + 1) & 0xff);
      c.clientMac.fill((i + 2) & 0xff);
      c.serverMac.fill((i + 3) & 0xff);
    });
    convs.forEach((c, i) => {
      expect([c.clientIp.length, c.serverIp.length, c.clientMac.length, c.serverMac.length]).toEqual([16, 16, 6, 6]);
      expect(c.clientIp.every((b) => b === (i & 0xff))).toBe(true);
      expect(c.serverIp.every((b) => b === ((i + 1) & 0xff))).toBe(true);
      expect(c.clientMac.every((b) => b === ((i + 2) & 0xff))).toBe(true);
      expect(c.serverMac.every((b) => b === ((i + 3) & 0xff))).toBe(true);
    });
    // reset() clears them and no neighbour.
    convs[1].reset();
    expect(convs[1].clientIp.every((b) => b === 0)).toBe(true);
    expect(convs[0].serverMac.every((b) => b === 3)).toBe(true);
    expect(convs[2].clientIp.every((b) => b === 2)).toBe(true);
  });

  it("snapshotOf copies them (a shard's message, a reused conversation) unless told to share", () => {
    const c = new Conversation();
    c.clientIp.set([10, 0, 0, 1]);
    c.firstFrames.push(1, 2);
    const copy = snapshotOf(c);
    const shared = snapshotOf(c, c.id, c.stream, true);
    expect(copy.clientIp).not.toBe(c.clientIp);
    expect(copy.firstFrames).not.toBe(c.firstFrames);
    expect(shared.clientIp).toBe(c.clientIp);
    expect(shared.firstFrames).toBe(c.firstFrames);
    expect([...copy.clientIp]).toEqual([...c.clientIp]);
    c.reset();
    expect([...copy.clientIp.subarray(0, 4)]).toEqual([10, 0, 0, 1]);
    expect(copy.firstFrames).toEqual([1, 2]);
  });
});

describe("sampleIsEmpty", () => {
  it("says what hasNoPayload says of the sample, without making it", () => {
    const udp = new Conversation();
    udp.transport = "udp";
    const cases: Conversation[] = [udp];
    const empty = new Conversation();
    empty.transport = "udp";
    empty.datagrams.push({ fromClient: true, frame: 1, data: new Uint8Array(0) });
    cases.push(empty);
    const full = new Conversation();
    full.transport = "udp";
    full.datagrams.push({ fromClient: false, frame: 2, data: Uint8Array.of(1) });
    cases.push(full);
    const tcp = new Conversation();
    tcp.tcp = new TcpTracker(16);
    cases.push(tcp);
    for (const c of cases) expect(sampleIsEmpty(c)).toBe(hasNoPayload(sampleOf(c)));
    expect(cases.map(sampleIsEmpty)).toEqual([true, true, false, true]);
  });
});
