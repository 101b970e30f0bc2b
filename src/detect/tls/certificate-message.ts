/** The TLS ≤ 1.2 Certificate handshake message (RFC 5246 §7.4.2): the DER certificates it carries, leaf first. */
import { Cursor } from "../../bytes/cursor.js";
import type { Direction } from "../types.js";
import { readCertificates, type CertificateCache, type Certificates } from "./certificate.js";
import { MAX_CHAIN, type OffsetMap, Sink } from "./messages.js";

/**
 * TLS ≤ 1.2 Certificate (RFC 5246 §7.4.2), `c` bounded to the message body (or to what was
 * captured of it when not `complete`): certificate_list<0..2^24-1>, each ASN.1Cert<1..2^24-1>; leaf first.
 */
export function parseCertificateMessage(c: Cursor, complete: boolean, at: OffsetMap, sink: Sink, dir: Direction, cache?: CertificateCache): Certificates | null {
  const from = c.pos;
  if (c.left < 3) {
    if (complete) sink.add("tls_bad_certificate_message", `Certificate message of ${c.left} bytes has no list length`, dir, at(from));
    return null;
  }
  const listLen = c.u24();
  if (complete && listLen !== c.left) {
    sink.add("tls_bad_certificate_message", `Certificate list length ${listLen} does not match the message's ${c.left} bytes`, dir, at(from));
  }
  const list = new Cursor();
  c.sub(Math.min(listLen, c.left), list);
  let count = 0;
  let leafAt = -1;
  const ders: Uint8Array[] = [];
  while (list.left >= 3) {
    const p = list.pos;
    const clen = list.u24();
    if (clen > list.left) {
      if (complete) sink.add("tls_bad_certificate_message", `certificate of ${clen} bytes runs past the list (${list.left} left)`, dir, at(p));
      break;
    }
    if (count === 0) leafAt = list.pos;
    // Bounded: a chain longer than MAX_CHAIN is counted but not parsed (X509Certificate costs ~0.3 ms each).
    if (ders.length < MAX_CHAIN) ders.push(list.bytes(clen)!);
    else list.skip(clen);
    count++;
  }
  if (count === 0) {
    if (complete) sink.add("tls_empty_certificate_chain", "server sent a Certificate message with no certificate", dir, at(from));
    return null;
  }
  return readCertificates(ders, count, sink, dir, at(leafAt), cache);
}
