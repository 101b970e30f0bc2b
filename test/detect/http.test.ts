import { describe, expect, it } from "vitest";
import { httpDetector } from "../../src/detect/http.js";
import { analyzeWith, detect } from "../../src/detect/registry.js";
import { emptyFacts } from "../../src/detect/types.js";
import { clientHello, httpRequest, httpResponse, serverHello } from "./fixtures.js";
import { bytes, names, tcp } from "./sample.js";

function analyze(client: Uint8Array, server: Uint8Array) {
  const f = emptyFacts();
  analyzeWith(httpDetector, tcp(client, server), f);
  return f;
}

describe("http detector", () => {
  it("reads method, URI, Host, status and Server", () => {
    const f = detect(tcp(httpRequest, httpResponse, { serverPort: 80 }));
    expect(f.protocol).toBe("http");
    expect(f.http).toEqual({ method: "GET", uri: "/index.html", host: "www.example.com", status: 200, server: "Apache/2.4.41 (Ubuntu)" });
    expect(f.banner).toBe("HTTP/1.1 200 OK");
    expect(f.anomalies).toEqual([]);
  });

  it("is found by content on a port that is not HTTP's", () => {
    expect(detect(tcp(httpRequest, httpResponse, { serverPort: 6000 })).protocol).toBe("http");
  });

  it("skips a 100 Continue to the final status", () => {
    const server = bytes("HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 201 Created\r\nServer: nginx\r\n\r\n");
    const f = analyze(bytes("POST /upload HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"), server);
    expect(f.http?.status).toBe(201);
    expect(f.http?.server).toBe("nginx");
    expect(f.banner).toBe("HTTP/1.1 100 Continue"); // the first line the server sent
  });

  it("follows a CONNECT tunnel into the TLS handshake inside it", () => {
    // RFC 9110 §9.3.6: the target is the authority; a 2xx turns the connection into a tunnel.
    const client = bytes("CONNECT backup.druva.com:443 HTTP/1.1\r\nHost: backup.druva.com:443\r\n\r\n", clientHello("backup.druva.com"));
    const server = bytes("HTTP/1.1 200 Connection established\r\n\r\n", serverHello());
    const f = detect(tcp(client, server, { serverPort: 3128 }));
    // The TLS inside is the real protocol (issue 17); http keeps the CONNECT's facts.
    expect(f.protocol).toBe("tls");
    expect(f.clientProtocol).toBeNull();
    expect(f.tunnel).toEqual({ via: "http-connect", target: "backup.druva.com", targetPort: 443, accepted: true });
    expect(f.http?.method).toBe("CONNECT");
    expect(f.http?.uri).toBe("backup.druva.com:443");
    expect(f.http?.status).toBe(200);
    expect(f.tls?.sni).toBe("backup.druva.com");
    expect(f.tls?.serverHelloSeen).toBe(true);
  });

  it("CONNECT without Host takes the host from the authority and names the missing Host", () => {
    const f = analyze(bytes("CONNECT 10.0.0.5:902 HTTP/1.1\r\n\r\n"), bytes("HTTP/1.1 403 Forbidden\r\n\r\n"));
    expect(f.http?.host).toBe("10.0.0.5:902");
    expect(names(f.anomalies)).toEqual(["http_missing_host"]);
    expect(f.tls).toBeNull(); // no tunnel after a 403
    expect(f.tunnel).toEqual({ via: "http-connect", target: "10.0.0.5", targetPort: 902, accepted: false });
  });

  it("names header problems", () => {
    const f = analyze(bytes("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nBad Header : x\r\nnocolon\r\n folded\r\n\r\n"), new Uint8Array(0));
    expect(f.http?.host).toBe("a");
    expect(names(f.anomalies).sort()).toEqual(["http_header_without_colon", "http_multiple_host", "http_obs_fold", "http_space_before_colon"]);
    expect(f.anomalies.find((a) => a.name === "http_multiple_host")?.message).toContain("2 Host");
    // HTTP/1.0 needs no Host; a bare LF is named once.
    const g = analyze(bytes("GET / HTTP/1.0\nAccept: */*\n\n"), new Uint8Array(0));
    expect(names(g.anomalies)).toEqual(["http_bare_lf"]);
    // Header section that never ends although the client is done.
    expect(names(analyze(bytes("GET / HTTP/1.1\r\nHost: a\r\n"), new Uint8Array(0)).anomalies)).toEqual(["http_headers_unterminated"]);
  });

  it("names a malformed status line", () => {
    const f = analyze(httpRequest, bytes("HTTP/1.1 OK\r\n\r\n"));
    expect(names(f.anomalies)).toEqual(["http_malformed_status_line"]);
    expect(f.http?.status).toBeNull();
  });

  it("probe: a full request line up to HTTP/d.d, or a status line", () => {
    const none = new Uint8Array(0);
    expect(httpDetector.probe(tcp(bytes("GET / HTTP/1.1"), none))).toBe("match");
    expect(httpDetector.probe(tcp(bytes("PROPFIND /dav/ HTTP/1.1\r\n"), none))).toBe("match");
    // Redis inline command and memcached: "GET key" without an HTTP version.
    expect(httpDetector.probe(tcp(bytes("GET mykey\r\n"), none))).toBe("no");
    expect(httpDetector.probe(tcp(bytes("get foo\r\n"), none))).toBe("no");
    expect(httpDetector.probe(tcp(bytes("GET /very/long"), none, { clientDone: false }))).toBe("more");
    expect(httpDetector.probe(tcp(bytes("GET /very/long"), none))).toBe("no");
    // Only the server's response was captured.
    expect(httpDetector.probe(tcp(none, bytes("HTTP/1.0 404 Not Found\r\n\r\n")))).toBe("match");
    expect(httpDetector.probe(tcp(none, bytes("HTTP/1.0 4x4"), { clientDone: true }))).toBe("no");
  });
});
