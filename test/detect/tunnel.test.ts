/**
 * TLS after a cleartext preamble (issue 17, docs/detectors/tunnels.md): SOCKS 5 (RFC 1928, RFC
 * 1929), SOCKS 4 and 4a, the PostgreSQL SSLRequest, LDAP StartTLS (RFC 4511 §4.14), HTTP CONNECT
 * (RFC 9110 §9.3.6) and the text STARTTLS. Every preamble is built byte by byte, a comment per
 * field; the TLS after it is the fixtures' ClientHello and ServerHello.
 */
import { describe, expect, it } from "vitest";
import { detect } from "../../src/detect/registry.js";
import { LDAP_STARTTLS_OID as STARTTLS_OID, clientHello, ldapStartTlsRequest, ldapStartTlsResponse, pgSslRequest, serverHello, socks5ConnectDomain, socks5Greeting, socks5NoAuth, socks5Reply, sshClient, sshServer } from "./fixtures.js";
import { bytes, tcp, u16be } from "./sample.js";

const SNI = "backup.druva.com"; // the name in fixtures.ts socks5ConnectDomain

describe("SOCKS 5", () => {
  it("no authentication, CONNECT to a domain, then TLS: protocol tls, the tunnel's target", () => {
    const f = detect(tcp(bytes(socks5Greeting, socks5ConnectDomain, clientHello(SNI)), bytes(socks5NoAuth, socks5Reply(0x00), serverHello()), { serverPort: 1080 }));
    expect(f.protocol).toBe("tls");
    expect(f.clientProtocol).toBeNull();
    expect(f.tunnel).toEqual({ via: "socks5", target: SNI, targetPort: 443, accepted: true });
    expect(f.tls?.sni).toBe(SNI);
    expect(f.tls?.version).toBe("TLS 1.2");
    expect(f.tls?.serverHelloSeen).toBe(true);
    expect(f.anomalies).toEqual([]);
  });

  it("username/password (RFC 1929) and an IPv4 target, on a port that is not SOCKS's", () => {
    const client = bytes(
      0x05, // VER 5
      0x02, // NMETHODS 2
      0x00, // NO AUTHENTICATION REQUIRED
      0x02, // USERNAME/PASSWORD
      // RFC 1929 §2 sub-negotiation:
      0x01, // VER 1
      0x04, // ULEN
      "user", // UNAME
      0x06, // PLEN
      "secret", // PASSWD
      // Request (RFC 1928 §4):
      0x05, // VER
      0x01, // CMD CONNECT
      0x00, // RSV
      0x01, // ATYP IPv4
      203, 0, 113, 7, // DST.ADDR
      u16be(8443), // DST.PORT
      clientHello(SNI),
    );
    const server = bytes(
      0x05, // VER 5
      0x02, // METHOD USERNAME/PASSWORD
      0x01, // sub-negotiation VER 1
      0x00, // STATUS success
      socks5Reply(0x00),
      serverHello(),
    );
    const f = detect(tcp(client, server, { serverPort: 7777 }));
    expect(f.protocol).toBe("tls");
    expect(f.tunnel).toEqual({ via: "socks5", target: "203.0.113.7", targetPort: 8443, accepted: true });
    expect(f.tls?.sni).toBe(SNI);
  });

  it("an IPv6 target is written as eight groups", () => {
    const client = bytes(
      socks5Greeting,
      0x05, // VER
      0x01, // CMD CONNECT
      0x00, // RSV
      0x04, // ATYP IPv6
      [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01], // DST.ADDR 2001:db8::1
      u16be(443), // DST.PORT
      clientHello(SNI),
    );
    const f = detect(tcp(client, bytes(socks5NoAuth, socks5Reply(0x00), serverHello())));
    expect(f.tunnel?.target).toBe("2001:db8:0:0:0:0:0:1");
  });

  it("a SOCKS5 tunnel that carries SSH is not tls", () => {
    const f = detect(tcp(bytes(socks5Greeting, socks5ConnectDomain, sshClient), bytes(socks5NoAuth, socks5Reply(0x00), sshServer), { serverPort: 1080 }));
    expect(f.protocol).not.toBe("tls");
    expect(f.tls).toBeNull();
    expect(f.tunnel).toBeUndefined();
  });

  it("a refused CONNECT (REP 2, not allowed by ruleset) with nothing after is not tls", () => {
    const f = detect(tcp(bytes(socks5Greeting, socks5ConnectDomain), bytes(socks5NoAuth, socks5Reply(0x02)), { serverPort: 1080 }));
    expect(f.protocol).not.toBe("tls");
    expect(f.tls).toBeNull();
  });

  it("a TLS client that did not wait for the refusal: tls, accepted false", () => {
    const f = detect(tcp(bytes(socks5Greeting, socks5ConnectDomain, clientHello(SNI)), bytes(socks5NoAuth, socks5Reply(0x05)), { serverPort: 1080 }));
    expect(f.tunnel).toEqual({ via: "socks5", target: SNI, targetPort: 443, accepted: false });
    expect(f.tls?.sni).toBe(SNI);
  });

  it("every cut of the preamble is not tls and does not throw", () => {
    const client = bytes(socks5Greeting, socks5ConnectDomain);
    const server = bytes(socks5NoAuth, socks5Reply(0x00));
    for (let n = 0; n < client.length; n++) {
      const f = detect(tcp(client.subarray(0, n), server));
      expect(f.protocol, `client cut at ${n}`).not.toBe("tls");
    }
  });
});

describe("SOCKS 4 and 4a", () => {
  /** The reply: VN 0, CD (90 granted, 91 rejected), DSTPORT and DSTIP (ignored). */
  const reply = (cd: number) =>
    bytes(
      0x00, // VN 0
      cd, // CD
      u16be(0), // DSTPORT
      0, 0, 0, 0, // DSTIP
    );

  it("SOCKS4 CONNECT to an IPv4 address, granted, then TLS", () => {
    const client = bytes(
      0x04, // VN 4
      0x01, // CD CONNECT
      u16be(443), // DSTPORT
      10, 1, 2, 3, // DSTIP
      "phoenix", // USERID
      0x00, // NUL
      clientHello(SNI),
    );
    const f = detect(tcp(client, bytes(reply(90), serverHello()), { serverPort: 1080 }));
    expect(f.protocol).toBe("tls");
    expect(f.tunnel).toEqual({ via: "socks4", target: "10.1.2.3", targetPort: 443, accepted: true });
    expect(f.tls?.sni).toBe(SNI);
    expect(f.tls?.serverHelloSeen).toBe(true);
  });

  it("SOCKS4a: DSTIP 0.0.0.1 and the name after the USERID", () => {
    const client = bytes(
      0x04, // VN 4
      0x01, // CD CONNECT
      u16be(443), // DSTPORT
      0, 0, 0, 1, // DSTIP 0.0.0.x, x ≠ 0: a name follows
      0x00, // empty USERID, NUL
      SNI, // the domain name
      0x00, // NUL
      clientHello(SNI),
    );
    const f = detect(tcp(client, bytes(reply(90), serverHello())));
    expect(f.protocol).toBe("tls");
    expect(f.tunnel).toEqual({ via: "socks4", target: SNI, targetPort: 443, accepted: true });
  });

  it("rejected (CD 91), nothing after: not tls", () => {
    const client = bytes(0x04 /* VN */, 0x01 /* CONNECT */, u16be(443) /* DSTPORT */, 10, 1, 2, 3 /* DSTIP */, 0x00 /* empty USERID */);
    const f = detect(tcp(client, reply(91), { serverPort: 1080 }));
    expect(f.protocol).not.toBe("tls");
    expect(f.tunnel).toBeUndefined();
  });
});

describe("PostgreSQL SSLRequest", () => {

  it("answered 'S', then TLS", () => {
    const f = detect(tcp(bytes(pgSslRequest, clientHello("db.example")), bytes("S", serverHello()), { serverPort: 5432 }));
    expect(f.protocol).toBe("tls");
    expect(f.tunnel).toEqual({ via: "postgres-sslrequest", target: null, targetPort: null, accepted: true });
    expect(f.tls?.sni).toBe("db.example");
    expect(f.tls?.serverHelloSeen).toBe(true);
  });

  it("answered 'N', then the cleartext StartupMessage: not tls", () => {
    const startup = bytes(
      0x00, 0x00, 0x00, 0x17, // Int32 length 23
      0x00, 0x03, 0x00, 0x00, // protocol 3.0
      "user", 0x00, "phoenix", 0x00, // parameter user=phoenix
      0x00, // end of parameters
    );
    const f = detect(tcp(bytes(pgSslRequest, startup), bytes("N"), { serverPort: 5432 }));
    expect(f.protocol).not.toBe("tls");
    expect(f.tls).toBeNull();
    expect(f.tunnel).toBeUndefined();
  });
});

describe("LDAP StartTLS", () => {
  it("ExtendedRequest with the StartTLS OID, resultCode 0, then TLS", () => {
    const f = detect(tcp(bytes(ldapStartTlsRequest, clientHello("ldap.example")), bytes(ldapStartTlsResponse(0), serverHello()), { serverPort: 389 }));
    expect(f.protocol).toBe("tls");
    expect(f.tunnel).toEqual({ via: "ldap-starttls", target: null, targetPort: null, accepted: true });
    expect(f.tls?.sni).toBe("ldap.example");
    expect(f.tls?.serverHelloSeen).toBe(true);
  });

  it("a long-form BER length reads the same", () => {
    const long = bytes(
      0x30, 0x81, 0x1d, // LDAPMessage SEQUENCE, length in one extra byte: 29
      0x02, 0x01, 0x01, // messageID 1
      0x77, 0x18, // ExtendedRequest, 24 bytes
      0x80, 0x16, // requestName, 22 bytes
      STARTTLS_OID,
    );
    const f = detect(tcp(bytes(long, clientHello("ldap.example")), bytes(ldapStartTlsResponse(0), serverHello())));
    expect(f.tunnel?.via).toBe("ldap-starttls");
    expect(f.protocol).toBe("tls");
  });

  it("refused (resultCode 2) and no TLS: not tls", () => {
    const f = detect(tcp(ldapStartTlsRequest, ldapStartTlsResponse(2), { serverPort: 389 }));
    expect(f.protocol).not.toBe("tls");
    expect(f.tunnel).toBeUndefined();
  });
});

describe("HTTP CONNECT", () => {
  const connect = (target: string) => bytes(`CONNECT ${target} HTTP/1.1\r\n`, `Host: ${target}\r\n`, "\r\n");

  it("a 2xx tunnel that carries something else stays http, without tls facts", () => {
    // Redis inline commands inside the tunnel (not TLS).
    const f = detect(tcp(bytes(connect("git.example:22"), "PING\r\n"), bytes("HTTP/1.1 200 OK\r\n\r\n", "+PONG\r\n"), { serverPort: 3128 }));
    expect(f.protocol).toBe("http");
    expect(f.tls).toBeNull();
    expect(f.tunnel).toEqual({ via: "http-connect", target: "git.example", targetPort: 22, accepted: true });
  });

  it("an IPv6 authority loses its brackets", () => {
    const f = detect(tcp(bytes(connect("[2001:db8::5]:443"), clientHello(SNI)), bytes("HTTP/1.1 200 Connection established\r\n\r\n", serverHello())));
    expect(f.protocol).toBe("tls");
    expect(f.tunnel).toEqual({ via: "http-connect", target: "2001:db8::5", targetPort: 443, accepted: true });
  });

  it("407 (proxy authentication required): http, accepted false, no tls", () => {
    const f = detect(tcp(connect(`${SNI}:443`), bytes("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"), { serverPort: 8080 }));
    expect(f.protocol).toBe("http");
    expect(f.http?.status).toBe(407);
    expect(f.tls).toBeNull();
    expect(f.tunnel).toEqual({ via: "http-connect", target: SNI, targetPort: 443, accepted: false });
  });

  it("no answer captured: accepted null", () => {
    const f = detect(tcp(connect(`${SNI}:443`), new Uint8Array(0)));
    expect(f.tunnel?.accepted).toBeNull();
  });
});

describe("text STARTTLS", () => {
  it("SMTP STARTTLS answered 220, then TLS: plaintext, tunnel starttls accepted", () => {
    const client = bytes("EHLO proxy.example\r\n", "STARTTLS\r\n", clientHello("mail.example"));
    const server = bytes("220 mail.example ESMTP\r\n", "250-mail.example\r\n250 STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n", serverHello());
    const f = detect(tcp(client, server, { serverPort: 25 }));
    expect(f.protocol).toBe("plaintext");
    expect(f.tunnel).toEqual({ via: "starttls", target: null, targetPort: null, accepted: true });
    expect(f.tls?.sni).toBe("mail.example");
  });

  it("refused with 454 while the client sent its hello anyway: accepted false", () => {
    const client = bytes("EHLO proxy.example\r\n", "STARTTLS\r\n", clientHello("mail.example"));
    const server = bytes("220 mail.example ESMTP\r\n", "250 STARTTLS\r\n", "454 4.7.0 TLS not available due to temporary reason\r\n");
    const f = detect(tcp(client, server, { serverPort: 25 }));
    expect(f.tunnel).toEqual({ via: "starttls", target: null, targetPort: null, accepted: false });
  });

  it("text with no TLS after it has no tunnel", () => {
    const f = detect(tcp(bytes("EHLO proxy.example\r\nQUIT\r\n"), bytes("220 mail.example ESMTP\r\n221 Bye\r\n"), { serverPort: 25 }));
    expect(f.protocol).toBe("plaintext");
    expect(f.tunnel).toBeUndefined();
    expect(f.tls).toBeNull();
  });
});
