/**
 * One shard's channel: a ring of batches in shared memory that the main thread fills with records
 * (shard-records.ts) and the shard's worker empties, in order, with no message per packet. Each
 * batch has a state word: FREE (the main thread may fill it) or a command the worker carries out
 * before setting it FREE again. Both sides block with `Atomics.wait` on the batch they need next,
 * so a worker that falls behind holds the reader back instead of letting batches pile up: memory
 * is the ring, whatever the capture's size.
 *
 * Commands with arguments (begin a capture, finish it) and records too large for a batch travel on
 * a MessagePort beside the ring; the worker takes them with `receiveMessageOnPort` when it reaches
 * their batch, so they keep their place in the order.
 */

export const FREE = 0;
/** The batch holds records up to its `used` bytes. */
export const RECORDS = 1;
/** Take the next message on the port: a command (begin, finish) or an oversized record. */
export const MESSAGE = 2;
/** No more work: the worker ends. */
export const STOP = 3;

/** Control words: [failed, unused, then per batch: state, used bytes]. */
const FAILED = 0;
const HEAD = 2;

/** The shared memory of one channel (sent to the worker as it starts). */
export interface ChannelMemory {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  batches: number;
  batchBytes: number;
}

export function channelMemory(batches: number, batchBytes: number): ChannelMemory {
  return {
    control: new SharedArrayBuffer(4 * (HEAD + 2 * batches)),
    data: new SharedArrayBuffer(batches * batchBytes),
    batches,
    batchBytes,
  };
}

/** How long one wait lasts before the failed flag is looked at again (ms). */
const WAIT_SLICE_MS = 200;

/** The side both ends share: the state words and the wait on them. */
export class Channel {
  readonly control: Int32Array;
  constructor(readonly memory: ChannelMemory) {
    this.control = new Int32Array(memory.control);
  }

  state(k: number): number {
    return Atomics.load(this.control, HEAD + 2 * k);
  }

  used(k: number): number {
    return Atomics.load(this.control, HEAD + 2 * k + 1);
  }

  /** Publish batch `k` with `state` (and `used` bytes) and wake the other side. */
  publish(k: number, state: number, used = 0): void {
    Atomics.store(this.control, HEAD + 2 * k + 1, used);
    Atomics.store(this.control, HEAD + 2 * k, state);
    Atomics.notify(this.control, HEAD + 2 * k);
  }

  /** Block until batch `k`'s state is no longer `from`; false when the other side failed. */
  waitWhile(k: number, from: number): boolean {
    const i = HEAD + 2 * k;
    while (Atomics.load(this.control, i) === from) {
      if (this.failed) return false;
      Atomics.wait(this.control, i, from, WAIT_SLICE_MS);
    }
    return true;
  }

  /** Block until batch `k` is FREE (the worker has emptied it); false when the worker failed. */
  waitFree(k: number): boolean {
    const i = HEAD + 2 * k;
    for (let s = Atomics.load(this.control, i); s !== FREE; s = Atomics.load(this.control, i)) {
      if (this.failed) return false;
      Atomics.wait(this.control, i, s, WAIT_SLICE_MS);
    }
    return true;
  }

  get failed(): boolean {
    return Atomics.load(this.control, FAILED) !== 0;
  }

  /** The worker failed: wake whoever waits on any batch. */
  fail(): void {
    Atomics.store(this.control, FAILED, 1);
    for (let k = 0; k < this.memory.batches; k++) Atomics.notify(this.control, HEAD + 2 * k);
  }
}
