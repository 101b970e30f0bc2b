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
 *
 * Then the server's bytes are run through the same order on their own (serverDisagrees): when
 * they are another protocol than the one chosen, that is the conversation's protocol and the
 * chosen one is `clientProtocol`.
 */
import { dnsDetector } from "./dns.js";
import { dtlsDetector } from "./dtls.js";
import { fallbackDetectors, noneDetector, plaintextDetector, unknownDetector } from "./fallback.js";
import { serverTextLine } from "./text.js";
import { httpDetector } from "./http.js";
import { nbnsDetector } from "./nbns.js";
import { ntpDetector } from "./ntp.js";
import { quicDetector } from "./quic.js";
import { rdpDetector } from "./rdp.js";
import { sshDetector } from "./ssh.js";
import { analyzeTls, tlsDetector } from "./tls/index.js";
import { tunnelDetector } from "./tunnel.js";
import { emptyFacts, type ConversationFacts, type Detector, type Handoff, type ProbeResult, type StreamSample } from "./types.js";
import { vmwareAuthdDetector } from "./vmware-authd.js";

/** Protocol detectors in the order their content probes run, then the fallbacks. */
export const detectors: readonly Detector[] = [
  vmwareAuthdDetector,
  tlsDetector,
  sshDetector,
  rdpDetector,
  httpDetector,
  tunnelDetector,
  quicDetector,
  dtlsDetector,
  nbnsDetector,
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

/** The result of running the probes: the chosen detector and which step of the order chose it. */
export interface Choice {
  detector: Detector;
  /** Which step chose it (1 content, 2 port, 3 weak, 4 fallback): how the order is tested and explained. */
  step: 1 | 2 | 3 | 4;
}

/** Runs the probes in registry order and returns the first match (the fallback always matches). */
export function choose(s: StreamSample): Choice {
  const tried = new Set<Detector>();
  const tryOne = (d: Detector): boolean => {
    tried.add(d);
    const r = safeProbe(d, s);
    if (r === "match") return true;
    return false;
  };
  const usable = detectors.filter((d) => !isFallback(d) && d.transports.includes(s.transport));

  // 1. Strong content on any port (Suricata: content patterns before port-based probing).
  for (const d of usable) if (d.byContent && tryOne(d)) return { detector: d, step: 1 };
  // 2. Weak detectors usual on this server port, then client port (Suricata: dp, then sp).
  for (const port of [s.serverPort, s.clientPort]) {
    for (const d of usable) {
      if (!d.byContent && !tried.has(d) && d.ports.includes(port) && tryOne(d)) return { detector: d, step: 2 };
    }
  }
  // 3. The weak ones left, on any port, only after everything stronger said no.
  for (const d of usable) if (!tried.has(d) && tryOne(d)) return { detector: d, step: 3 };
  // 4. Fallback.
  for (const d of [noneDetector, plaintextDetector]) {
    if (safeProbe(d, s) === "match") return { detector: d, step: 4 };
  }
  return { detector: unknownDetector, step: 4 };
}

/**
 * The children a detector may hand the rest of a stream to (types.ts, Handoff), by name. Each
 * fills its facts from the handoff's offsets and says whether it found its protocol.
 */
const CHILDREN: Readonly<Record<Handoff["child"], (h: Handoff, s: StreamSample, out: ConversationFacts) => boolean>> = {
  tls: (h, s, out) => analyzeTls(h.client, h.server, out, h.clientStart, h.serverStart, s.certificates),
};

/**
 * `d.analyze` on `s` into `facts`, then the child it handed the rest to, if any, then the
 * parent's `then`. A throw becomes a `detector_internal_error` anomaly. Exported for tests that
 * analyse with one detector directly.
 */
export function analyzeWith(d: Detector, s: StreamSample, facts: ConversationFacts): void {
  try {
    const h = d.analyze(s, facts);
    if (h) {
      const found = CHILDREN[h.child](h, s, facts);
      h.then?.(found, facts);
    }
  } catch (e) {
    facts.anomalies.push({
      name: "detector_internal_error",
      message: `${d.protocol} analysis stopped: ${e instanceof Error ? e.message : String(e)}`,
    });
  }
}

const EMPTY = new Uint8Array(0);

/** The server's bytes alone, as if the client had sent nothing (its datagrams dropped for UDP). */
export function serverSide(s: StreamSample): StreamSample {
  return {
    ...s,
    client: EMPTY,
    clientDone: true,
    clientGap: false,
    clientStartMissing: false,
    firstSpeaker: "server",
    datagrams: s.transport === "udp" ? s.datagrams.filter((d) => !d.fromClient) : s.datagrams,
  };
}

function serverSent(s: StreamSample): boolean {
  return s.transport === "udp" ? s.datagrams.some((d) => !d.fromClient && d.data.length > 0) : s.server.length > 0;
}

/**
 * The server's bytes count as much as the client's (issue 11): what do they say on their own,
 * when the protocol chosen for the conversation is not theirs? Null when they agree with `chosen`,
 * when the server sent nothing, or when its bytes cannot be judged (its start was not captured).
 *
 * One rule for every detector: the server's side is run through the same registry alone. A
 * ClientHello answered by a plaintext banner, an HTTP 400 or unrecognised binary is then what the
 * server spoke (plaintext, http, unknown); a TLS alert record answering it is still TLS.
 */
function serverDisagrees(s: StreamSample, chosen: Detector): { detector: Detector; sample: StreamSample } | null {
  if (isFallback(chosen) || s.serverStartMissing || !serverSent(s)) return null;
  const alone = serverSide(s);
  // The common case first: the chosen detector's own probe recognises the server's bytes.
  if (safeProbe(chosen, alone) === "match") return null;
  const d = choose(alone).detector;
  if (d.protocol === chosen.protocol || d === noneDetector) return null;
  // A datagram protocol's answers are often opaque on their own (QUIC short headers, Google
  // QUIC's server packets): unrecognised UDP replies prove nothing; a recognised other protocol does.
  if (d === unknownDetector && s.transport === "udp") return null;
  return { detector: d, sample: alone };
}

/**
 * Detects the protocol of one conversation and fills its facts. Never throws: a detector that
 * throws inside analyze leaves a `detector_internal_error` anomaly and the facts it had set.
 *
 * When the server answered in another protocol than the one the client's bytes started
 * (serverDisagrees), `protocol` is what the server spoke and `clientProtocol` what the client's
 * bytes were; both analyses run, the server's last (on its bytes alone), so the facts keep what
 * the client sent (a ClientHello's SNI) and `banner` is the server's first text line.
 */
export function detect(sample: StreamSample): ConversationFacts {
  const facts = emptyFacts();
  const { detector } = choose(sample);
  facts.protocol = detector.protocol;
  analyzeWith(detector, sample, facts);
  const server = serverDisagrees(sample, detector);
  if (server !== null) {
    facts.clientProtocol = detector.protocol;
    facts.protocol = server.detector.protocol;
    facts.banner = null;
    analyzeWith(server.detector, server.sample, facts);
    facts.banner ??= serverTextLine(server.sample);
  }
  return facts;
}

/**
 * The likely server ports the detectors declare (Zeek's likely_server_ports, from the analyzers'
 * registered ports), for the flow layer's orientation and anyone else who needs "is this port a
 * service": one set derived from `detectors`, instead of hand lists. A fresh set per call (the
 * caller keeps it); it never changes during a run.
 */
export function detectorServerPorts(transport?: "tcp" | "udp"): ReadonlySet<number> {
  const ports = new Set<number>();
  for (const d of detectors) {
    if (transport !== undefined && !d.transports.includes(transport)) continue;
    for (const p of d.ports) ports.add(p);
  }
  return ports;
}
