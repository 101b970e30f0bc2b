/**
 * SSL 2.0 (draft-hickman-netscape-ssl-00): the CLIENT-HELLO (also the SSLv2-compatible hello of
 * RFC 5246 Appendix E.2) and the SERVER-HELLO.
 */
import type { Direction } from "../types.js";
import { emptyClientHello } from "./hello.js";
import { emptyServerHello, type ParsedClientHello, type ParsedServerHello, Sink, u16 } from "./messages.js";

// ---------------------------------------------------------------------------------------------
// SSL 2.0 (draft-hickman-netscape-ssl-00). Record header: when the high bit of the first byte is
// set, a 2-byte header with a 15-bit length and no padding (§2.1). Only the 2-byte form is read:
// the 3-byte form (with padding) is only used for encrypted records.
// ---------------------------------------------------------------------------------------------

export function sslv2Length(b: Uint8Array, p: number): number {
  return ((b[p] & 0x7f) << 8) | b[p + 1];
}

/**
 * SSL 2.0 CLIENT-HELLO (§2.5): MSG-CLIENT-HELLO(1)=1 CLIENT-VERSION(2) CIPHER-SPECS-LENGTH(2)
 * SESSION-ID-LENGTH(2) CHALLENGE-LENGTH(2) CIPHER-SPECS(3 each) SESSION-ID CHALLENGE.
 * Also the "SSLv2-compatible" hello of RFC 5246 Appendix E.2 (CLIENT-VERSION 0x0301..).
 */
export function parseSslv2ClientHello(b: Uint8Array, p: number, end: number, sink: Sink | null, dir: Direction): ParsedClientHello | null {
  const rec = p;
  const len = sslv2Length(b, p);
  p += 2;
  if (len > end - p || len < 9) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 CLIENT-HELLO record of ${len} bytes (${end - p} captured) is too short or cut`, dir, rec);
    return null;
  }
  const h = emptyClientHello(rec);
  h.sslv2 = true;
  h.legacyVersion = u16(b, p + 1);
  const cs = u16(b, p + 3);
  const sid = u16(b, p + 5);
  const ch = u16(b, p + 7);
  if (9 + cs + sid + ch !== len || cs % 3 !== 0) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 CLIENT-HELLO lengths (specs ${cs}, session id ${sid}, challenge ${ch}) do not add up to the record's ${len}`, dir, rec);
    if (9 + cs > len) return null;
  }
  h.sessionIdLength = sid;
  const q = p + 9;
  for (let i = 0; i + 2 < cs; i += 3) h.ciphers.push((b[q + i] << 16) | (b[q + i + 1] << 8) | b[q + i + 2]);
  return h;
}

export interface Sslv2ServerHello {
  hello: ParsedServerHello;
  certFrom: number;
  certTo: number;
}

/**
 * SSL 2.0 SERVER-HELLO (§2.6): MSG-SERVER-HELLO(1)=4 SESSION-ID-HIT(1) CERTIFICATE-TYPE(1)
 * SERVER-VERSION(2) CERTIFICATE-LENGTH(2) CIPHER-SPECS-LENGTH(2) CONNECTION-ID-LENGTH(2)
 * CERTIFICATE-DATA CIPHER-SPECS-DATA CONNECTION-ID-DATA.
 */
export function parseSslv2ServerHello(b: Uint8Array, p: number, end: number, sink: Sink | null, dir: Direction): Sslv2ServerHello | null {
  const rec = p;
  const len = sslv2Length(b, p);
  p += 2;
  if (end - p < 11 || len < 11) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 SERVER-HELLO record of ${len} bytes (${end - p} captured) is too short or cut`, dir, rec);
    return null;
  }
  const hello = emptyServerHello(rec, u16(b, p + 3));
  hello.sslv2 = true;
  const certLen = u16(b, p + 5);
  const cs = u16(b, p + 7);
  const cid = u16(b, p + 9);
  if (11 + certLen + cs + cid !== len) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 SERVER-HELLO lengths (certificate ${certLen}, specs ${cs}, connection id ${cid}) do not add up to the record's ${len}`, dir, rec);
  }
  const certFrom = p + 11;
  const certTo = certFrom + certLen;
  // CERTIFICATE-TYPE 1 is SSL_CT_X509_CERTIFICATE; a hit (resumed session) carries no certificate.
  if (b[p + 2] !== 1 || certLen === 0 || certTo > end) return { hello, certFrom: 0, certTo: 0 };
  return { hello, certFrom, certTo };
}
