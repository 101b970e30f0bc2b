/**
 * The detector registry: every detector as data, and the order they are tried in.
 *
 * Order (Suricata's content-first, then probing parsers by port; docs/detectors/README.md says why):
 *   1. strong content probes (byContent), in the order of `detectors`, on every conversation
 *      whatever its port — vmware-authd before tls, because an authd connection's client side is
 *      a bare ClientHello;
 *   2. the weak detectors usual on the server port, then on the client port;
 *   3. the remaining weak detectors on any port;
 *   4. the fallback: none (no payload), plaintext (mostly text), unknown.
 * A probe that answers "more" counts as "no" once the sample is final (both directions done, as
 * they are for a finished conversation); the first "match" wins.
 */
import { dnsDetector } from "./dns.js";
import { fallbackDetectors, noneDetector, plaintextDetector, unknownDetector } from "./fallback.js";
import { httpDetector } from "./http.js";
import { ntpDetector } from "./ntp.js";
import { quicDetector } from "./quic.js";
import { rdpDetector } from "./rdp.js";
import { sshDetector } from "./ssh.js";
import { tlsDetector } from "./tls.js";
import { emptyFacts, type ConversationFacts, type Detector, type ProbeResult, type StreamSample } from "./types.js";
import { vmwareAuthdDetector } from "./vmware-authd.js";

/** Protocol detectors in the order their content probes run, then the fallbacks. */
export const detectors: readonly Detector[] = [
  vmwareAuthdDetector,
  tlsDetector,
  sshDetector,
  rdpDetector,
  httpDetector,
  quicDetector,
  dnsDetector,
  ntpDetector,
  ...fallbackDetectors,
];

const FALLBACKS = new Set<Detector>(fallbackDetectors);

function isFallback(d: Detector): boolean {
  return FALLBACKS.has(d);
}

/** True when no more bytes can come either way, so "more" can never become "match". */
export function sampleIsFinal(s: StreamSample): boolean {
  return s.transport === "udp" || (s.clientDone && s.serverDone);
}

/** A probe that throws is a bug in it; the conversation goes on to the next detector. */
function safeProbe(d: Detector, s: StreamSample): ProbeResult {
  try {
    return d.probe(s);
  } catch {
    return "no";
  }
}

/** The result of running the probes: the chosen detector, and whether an earlier probe is still waiting. */
export interface Choice {
  detector: Detector;
  /** Which step chose it (1 content, 2 port, 3 weak, 4 fallback). */
  step: 1 | 2 | 3 | 4;
  /**
   * Detectors tried before the chosen one that answered "more" on a sample that is not final:
   * with more bytes one of them might still match. Empty for a finished conversation.
   */
  waiting: Detector[];
}

/** Runs the probes in registry order and returns the first match (the fallback always matches). */
export function choose(s: StreamSample): Choice {
  const final = sampleIsFinal(s);
  const waiting: Detector[] = [];
  const tried = new Set<Detector>();
  const tryOne = (d: Detector): boolean => {
    tried.add(d);
    const r = safeProbe(d, s);
    if (r === "match") return true;
    if (r === "more" && !final) waiting.push(d);
    return false;
  };
  const usable = detectors.filter((d) => !isFallback(d) && d.transports.includes(s.transport));

  // 1. Strong content on any port (Suricata: content patterns before port-based probing).
  for (const d of usable) if (d.byContent && tryOne(d)) return { detector: d, step: 1, waiting };
  // 2. Weak detectors usual on this server port, then client port (Suricata: dp, then sp).
  for (const port of [s.serverPort, s.clientPort]) {
    for (const d of usable) {
      if (!d.byContent && !tried.has(d) && d.ports.includes(port) && tryOne(d)) return { detector: d, step: 2, waiting };
    }
  }
  // 3. The weak ones left, on any port, only after everything stronger said no.
  for (const d of usable) if (!tried.has(d) && tryOne(d)) return { detector: d, step: 3, waiting };
  // 4. Fallback.
  for (const d of [noneDetector, plaintextDetector]) {
    if (safeProbe(d, s) === "match") return { detector: d, step: 4, waiting };
  }
  return { detector: unknownDetector, step: 4, waiting };
}

/**
 * Detects the protocol of one conversation and fills its facts. Never throws: a detector that
 * throws inside analyze leaves a `detector_internal_error` anomaly and the facts it had set.
 */
export function detect(sample: StreamSample): ConversationFacts {
  const facts = emptyFacts();
  const { detector } = choose(sample);
  facts.protocol = detector.protocol;
  try {
    detector.analyze(sample, facts);
  } catch (e) {
    facts.anomalies.push({
      name: "detector_internal_error",
      message: `${detector.protocol} analysis stopped: ${e instanceof Error ? e.message : String(e)}`,
    });
  }
  return facts;
}
