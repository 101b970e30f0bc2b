/**
 * The flow table's options and what it reports of its limits (the report's `captures[].flow`).
 */
export interface FlowTableOptions {
  /** Bytes of in-order payload kept per TCP direction for detection (default 16 KiB). */
  reassemblyCap: number;
  /** UDP datagrams kept per direction for detection, and bytes kept of each. */
  udpSampleCount: number;
  udpSampleBytes: number;
  /**
   * Most conversations listed one by one in the run (all captures together), and most held in the table at once
   * (default DEFAULT_MAX_CONVERSATIONS). Past it, conversations are folded into aggregates and
   * the report says the limit was hit (`--max-conversations`).
   */
  maxConversations?: number;
  /** Seconds of capture time after which a quiet conversation is retired (default 300, Zeek's tcp_inactivity_timeout); 0 never. */
  idleTimeout?: number;
  /** The same for a finished TCP conversation (FIN both ways or a RST); default 5; 0 never. */
  finishedTimeout?: number;
  /**
   * Bytes that retired conversations may go on holding (their kept TCP prefixes and UDP samples,
   * for callers that read them after the analysis), all captures of the run together; past it the
   * oldest are freed. Default 0: nothing in the product reads kept bytes after detection (the
   * report is made of facts and counters), and a sharded run's workers keep none.
   */
  retainedBytes?: number;
  /**
   * Bytes that conversations still in the table may hold for detection at once, for the whole run
   * (TCP stream buffers, their bitmaps, frame maps and hole lists, UDP samples). Past it the least
   * recently active conversations are retired early (detected on what they have, bytes freed),
   * counted in `retiredForMemory`. Default 128 MiB.
   */
  maxHeldBytes?: number;
  /**
   * Ports above 1023 that identify a service, for deciding who is the client when neither SYN nor
   * the protocol says (src/flow/orientation.ts rule 3). None when not given; the pipeline passes
   * the one set it derives from the detectors and the matrix (src/pipeline/server-ports.ts).
   */
  likelyServerPorts?: ReadonlySet<number>;
  /** Key of the flow hash (two 32-bit words); random per run (FlowBudget) when not given. Tests only: reports never depend on it. */
  hashKey?: readonly number[];
}

/** Default of `maxConversations`; the run's peak memory from the defaults is bounded in docs/performance.md ("The bound"). */
export const DEFAULT_MAX_CONVERSATIONS = 20_000;

export const DEFAULT_FLOW_OPTIONS: FlowTableOptions = {
  reassemblyCap: 16 * 1024,
  udpSampleCount: 8,
  udpSampleBytes: 2048,
  maxConversations: DEFAULT_MAX_CONVERSATIONS,
  idleTimeout: 300,
  finishedTimeout: 5,
  retainedBytes: 0,
  maxHeldBytes: 128 * 1024 * 1024,
};

/** How the table kept within its limits (the report's `captures[].flow`). */
export interface FlowStats {
  /** The limit in force. */
  maxConversations: number;
  /** True when more conversations were seen than the limit: some are only in aggregates. */
  limitHit: boolean;
  /** Every conversation seen (listed + folded into aggregates). */
  conversations: number;
  /** Listed one by one. */
  listed: number;
  /**
   * Folded into aggregates, and how many aggregate entries hold them. These three (and
   * `coarseAggregated`) are counted by whoever folds the unlisted conversations (the pipeline,
   * src/pipeline/aggregate.ts); the table leaves them at 0.
   */
  aggregated: number;
  aggregates: number;
  /** Removed from the table before the end of the capture because it was full. */
  evicted: number;
  /** Retired before the end (idle or finished and quiet): detected early, kept bytes freed. */
  retiredEarly: number;
  /**
   * Of those, retired because the run's held-bytes budget (`maxHeldBytes`) was full: detection ran
   * on the bytes they had so far, later payload is not kept.
   */
  retiredForMemory: number;
  /** Folded into an aggregate coarser than `port` because MAX_AGGREGATES entries existed. */
  coarseAggregated: number;
  /** Listed conversations whose kept bytes the retained-bytes budget freed (their facts stay). */
  retainedReleased: number;
}
