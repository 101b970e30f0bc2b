/**
 * The public surface of detect/ (docs/architecture-notes/detect.md): what the pipeline, policy
 * and report may use. Everything else in the folder is the detectors' own business.
 */
export { detectFacts } from "./conversation-facts.js";
export { analyzeWith, choose, detect, detectorServerPorts, detectors, type Choice } from "./registry.js";
export { CertificateCache, isPublicRootOrganisation, readChain } from "./tls/index.js";
export { NTP_HEADER } from "./ntp.js";
export { emptyFacts } from "./types.js";
export type {
  Anomaly,
  CertificateFacts,
  ChainCertificate,
  ConversationFacts,
  Datagram,
  Detector,
  Direction,
  Handoff,
  ProbeResult,
  Protocol,
  QuicFacts,
  QuicTruncation,
  RdpUdpFacts,
  StreamSample,
  TlsFacts,
  TlsTruncation,
  TunnelFacts,
} from "./types.js";
