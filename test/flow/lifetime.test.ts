/**
 * The flow table's lifetime rules on their own (src/flow/lifetime.ts): recency order, expiry by
 * capture time, relief of the held-bytes budget, and which conversation a full table evicts.
 * Conversations are plain objects with their times set by hand (UDP ones: never "finished").
 */
import { describe, expect, it } from "vitest";
import { Conversation } from "../../src/flow/conversation.js";
import { FlowBudget, Lifetime } from "../../src/flow/lifetime.js";
import { DEFAULT_FLOW_OPTIONS, type FlowStats } from "../../src/flow/options.js";

function stats(): FlowStats {
  return { maxConversations: 0, limitHit: false, conversations: 0, listed: 0, aggregated: 0, aggregates: 0, evicted: 0, retiredEarly: 0, retiredForMemory: 0, coarseAggregated: 0, retainedReleased: 0 };
}

function conv(id: number, endSec: number, chargedBytes = 0): Conversation {
  const c = new Conversation();
  c.id = id;
  c.transport = "udp";
  c.endSec = endSec;
  c.chargedBytes = chargedBytes;
  return c;
}

/** A Lifetime whose early retirement does what the table's does: mark retired, give the bytes back, touch. */
function lifetime(opts: { idleTimeout?: number; finishedTimeout?: number; maxHeldBytes?: number } = {}) {
  const retiredOrder: number[] = [];
  const budget = new FlowBudget({ ...DEFAULT_FLOW_OPTIONS, ...opts });
  const st = stats();
  const l: Lifetime = new Lifetime({ ...DEFAULT_FLOW_OPTIONS, ...opts }, budget, st, (c) => {
    retiredOrder.push(c.id);
    c.retired = true;
    budget.heldBytes -= c.chargedBytes;
    l.touch(c);
  });
  return { l, budget, st, retiredOrder };
}

describe("Lifetime", () => {
  it("expires the conversations quiet longer than idleTimeout, least recently active first, and only those", () => {
    const { l, retiredOrder } = lifetime({ idleTimeout: 300 });
    const cs = [conv(1, 0), conv(2, 100), conv(3, 250)];
    for (const c of cs) l.touch(c);
    l.expire(360); // 1 quiet 360 s; 2 only 260 s
    expect(retiredOrder).toEqual([1]);
    l.expire(550); // 2 quiet 450 s; 3 exactly 300 s, not longer
    expect(retiredOrder).toEqual([1, 2]);
    l.expire(551);
    expect(retiredOrder).toEqual([1, 2, 3]);
  });

  it("a touched conversation moves to the recent end and is not expired with the ones before it", () => {
    const { l, retiredOrder } = lifetime({ idleTimeout: 10 });
    const a = conv(1, 0);
    const b = conv(2, 0);
    l.touch(a);
    l.touch(b);
    a.endSec = 20; // a got a packet at 20 s
    l.touch(a);
    l.expire(25);
    expect(retiredOrder).toEqual([2]);
  });

  it("idleTimeout 0 never expires", () => {
    const { l, retiredOrder } = lifetime({ idleTimeout: 0 });
    l.touch(conv(1, 0));
    l.expire(1e9);
    expect(retiredOrder).toEqual([]);
  });

  it("over the held-bytes budget, the least recently active are retired until it fits, sparing the current one", () => {
    const { l, budget, st, retiredOrder } = lifetime({ maxHeldBytes: 1000 });
    const cs = [conv(1, 0, 400), conv(2, 1, 400), conv(3, 2, 400)];
    for (const c of cs) {
      l.touch(c);
      budget.heldBytes += c.chargedBytes;
    }
    // The current conversation is the least recently active: relief stops there rather than retire it.
    l.relieve(cs[0]);
    expect(retiredOrder).toEqual([]);
    expect(budget.heldBytes).toBe(1200);
    l.relieve(cs[2]);
    expect(retiredOrder).toEqual([1]);
    expect(budget.heldBytes).toBe(800);
    expect(st.retiredForMemory).toBe(1);
  });

  it("a full table evicts a retired conversation before an open one, and leaves none when empty", () => {
    const { l } = lifetime();
    expect(l.evictionCandidate()).toBeNull();
    const open = conv(1, 0);
    const retired = conv(2, 5);
    l.touch(open);
    retired.retired = true;
    l.touch(retired);
    expect(l.evictionCandidate()).toBe(retired);
    l.remove(retired);
    expect(l.evictionCandidate()).toBe(open);
    l.remove(open);
    expect(l.evictionCandidate()).toBeNull();
  });
});
