/**
 * SSL 2.0 (draft-hickman-netscape-ssl-00): the CLIENT-HELLO (also the SSLv2-compatible hello of
 * RFC 5246 Appendix E.2) and the SERVER-HELLO.
 */
import type { Cursor } from "../../bytes/cursor.js";
import type { Direction } from "../types.js";
import { emptyClientHello } from "./hello.js";
import { emptyServerHello, type ParsedClientHello, type ParsedServerHello, Sink } from "./messages.js";

// ---------------------------------------------------------------------------------------------
// SSL 2.0 (draft-hickman-netscape-ssl-00). Record header: when the high bit of the first byte is
// set, a 2-byte header with a 15-bit length and no padding (§2.1). Only the 2-byte form is read:
// the 3-byte form (with padding) is only used for encrypted records.
// ---------------------------------------------------------------------------------------------

/** The 15-bit length of the 2-byte record header at the cursor (read without moving; the caller has checked 2 bytes are there). */
export function sslv2Length(c: Cursor): number {
  return ((c.peek(0) & 0x7f) << 8) | c.peek(1);
}

/**
 * SSL 2.0 CLIENT-HELLO (§2.5), `c` at its record header: MSG-CLIENT-HELLO(1)=1 CLIENT-VERSION(2)
 * CIPHER-SPECS-LENGTH(2) SESSION-ID-LENGTH(2) CHALLENGE-LENGTH(2) CIPHER-SPECS(3 each) SESSION-ID
 * CHALLENGE. Also the "SSLv2-compatible" hello of RFC 5246 Appendix E.2 (CLIENT-VERSION 0x0301..).
 */
export function parseSslv2ClientHello(c: Cursor, sink: Sink | null, dir: Direction): ParsedClientHello | null {
  const rec = c.pos;
  const len = sslv2Length(c);
  c.skip(2);
  if (len > c.left || len < 9) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 CLIENT-HELLO record of ${len} bytes (${c.left} captured) is too short or cut`, dir, rec);
    return null;
  }
  const h = emptyClientHello(rec);
  h.sslv2 = true;
  c.skip(1); // MSG-CLIENT-HELLO
  h.legacyVersion = c.u16();
  const cs = c.u16();
  const sid = c.u16();
  const ch = c.u16();
  if (9 + cs + sid + ch !== len || cs % 3 !== 0) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 CLIENT-HELLO lengths (specs ${cs}, session id ${sid}, challenge ${ch}) do not add up to the record's ${len}`, dir, rec);
    if (9 + cs > len) return null;
  }
  h.sessionIdLength = sid;
  for (let i = 0; i + 2 < cs; i += 3) h.ciphers.push(c.u24());
  return h;
}

export interface Sslv2ServerHello {
  hello: ParsedServerHello;
  certFrom: number;
  certTo: number;
}

/**
 * SSL 2.0 SERVER-HELLO (§2.6), `c` at its record header: MSG-SERVER-HELLO(1)=4 SESSION-ID-HIT(1)
 * CERTIFICATE-TYPE(1) SERVER-VERSION(2) CERTIFICATE-LENGTH(2) CIPHER-SPECS-LENGTH(2)
 * CONNECTION-ID-LENGTH(2) CERTIFICATE-DATA CIPHER-SPECS-DATA CONNECTION-ID-DATA.
 */
export function parseSslv2ServerHello(c: Cursor, sink: Sink | null, dir: Direction): Sslv2ServerHello | null {
  const rec = c.pos;
  const len = sslv2Length(c);
  c.skip(2);
  if (c.left < 11 || len < 11) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 SERVER-HELLO record of ${len} bytes (${c.left} captured) is too short or cut`, dir, rec);
    return null;
  }
  c.skip(2); // MSG-SERVER-HELLO, SESSION-ID-HIT
  const certType = c.u8();
  const hello = emptyServerHello(rec, c.u16());
  hello.sslv2 = true;
  const certLen = c.u16();
  const cs = c.u16();
  const cid = c.u16();
  if (11 + certLen + cs + cid !== len) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 SERVER-HELLO lengths (certificate ${certLen}, specs ${cs}, connection id ${cid}) do not add up to the record's ${len}`, dir, rec);
  }
  const certFrom = c.pos;
  // CERTIFICATE-TYPE 1 is SSL_CT_X509_CERTIFICATE; a hit (resumed session) carries no certificate.
  if (certType !== 1 || certLen === 0 || certLen > c.left) return { hello, certFrom: 0, certTo: 0 };
  return { hello, certFrom, certTo: certFrom + certLen };
}
