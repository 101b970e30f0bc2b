/**
 * When a live capture stops: the count, the duration, or the caller's AbortSignal (Ctrl-C,
 * SIGTERM), whichever comes first. The first reason wins; the engine is asked to stop once.
 */
import { performance } from "node:perf_hooks";
import type { StopReason } from "../types.js";
import { MAX_TIMEOUT_MS, type EngineSession } from "./engine.js";

export class StopControl {
  /** Why the capture was asked to stop, or null while it runs (or ended by itself). */
  reason: StopReason | null = null;
  private session: EngineSession | null = null;
  /** performance.now() value of the duration's end. */
  private deadline = Infinity;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onAbort = (): void => this.request(this.signal?.reason === "terminate" ? "terminate" : "interrupt");

  constructor(
    private readonly count: number | null,
    private readonly durationMs: number | null,
    private readonly signal: AbortSignal | undefined,
  ) {}

  request(why: StopReason): void {
    if (this.reason !== null) return;
    this.reason = why;
    this.session?.stop();
  }

  /** True once the count is reached: the engine may hand over a few more before it stops. */
  get countReached(): boolean {
    return this.reason === "count";
  }

  /** After each delivered packet (`delivered` of them so far). */
  afterPacket(delivered: number): void {
    if (this.count !== null && delivered >= this.count) this.request("count");
    // cap hands over packets in one synchronous loop for as long as the kernel has some: under a
    // flood no timer runs, so the duration is also checked here.
    else if ((delivered & 1023) === 0 && performance.now() >= this.deadline) this.request("duration");
  }

  /** Capturing has started at `startPerf`: arm the duration and listen to the signal. */
  arm(session: EngineSession, startPerf: number): void {
    this.session = session;
    if (this.durationMs != null) {
      this.deadline = startPerf + this.durationMs;
      // setTimeout takes at most 2^31-1 ms (~24.8 days) and fires at once beyond that: wait in
      // pieces no longer than that until the deadline is reached.
      const wait = (): void => {
        const left = this.deadline - performance.now();
        if (left <= 0) this.request("duration");
        else this.timers.push(setTimeout(wait, Math.min(left, MAX_TIMEOUT_MS)));
      };
      wait();
    }
    if (this.signal) {
      if (this.signal.aborted) this.onAbort();
      else this.signal.addEventListener("abort", this.onAbort, { once: true });
    }
    // A stop asked before the session existed (the count reached while it started).
    if (this.reason !== null) session.stop();
  }

  /** The capture is over: no timer or listener may outlive it. */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.signal?.removeEventListener("abort", this.onAbort);
  }
}
