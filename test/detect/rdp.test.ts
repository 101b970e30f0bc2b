import { describe, expect, it } from "vitest";
import { rdpDetector, requestedProtocolNames } from "../../src/detect/rdp.js";
import { analyzeWith, detect } from "../../src/detect/registry.js";
import { emptyFacts } from "../../src/detect/types.js";
import { clientHello, rdpConfirm, rdpRequest, serverHello } from "./fixtures.js";
import { bytes, names, tcp, u16be } from "./sample.js";

function analyze(client: Uint8Array, server: Uint8Array) {
  const f = emptyFacts();
  analyzeWith(rdpDetector, tcp(client, server, { serverPort: 3389 }), f);
  return f;
}

describe("rdp detector", () => {
  it("reads the cookie, requested protocols and the selected protocol", () => {
    const f = detect(tcp(rdpRequest, rdpConfirm(0x02, 0x00000002 /* HYBRID */), { serverPort: 3389 }));
    expect(f.protocol).toBe("rdp");
    expect(f.rdp).toEqual({ cookie: "administrator", requestedProtocols: ["ssl", "hybrid", "hybrid_ex"], selectedProtocol: "hybrid", failure: null });
    expect(f.anomalies).toEqual([]);
  });

  it("analyses the TLS that follows the Connection Confirm when SSL was selected", () => {
    const client = bytes(rdpRequest, clientHello("win-guest01"));
    const server = bytes(rdpConfirm(0x02, 0x00000001 /* SSL */), serverHello());
    const f = detect(tcp(client, server, { serverPort: 3389 }));
    expect(f.protocol).toBe("rdp"); // not "tls": the X.224 PDUs come first
    expect(f.rdp?.selectedProtocol).toBe("ssl");
    expect(f.tls?.sni).toBe("win-guest01");
    expect(f.tls?.clientHelloSeen && f.tls?.serverHelloSeen).toBe(true);
    expect(f.anomalies).toEqual([]);
  });

  it("names a TLS protocol selected but no TLS after it", () => {
    const f = analyze(bytes(rdpRequest, "not tls at all"), rdpConfirm(0x02, 0x00000001));
    expect(names(f.anomalies)).toContain("rdp_tls_not_found");
  });

  it("reports RDP_NEG_FAILURE by name", () => {
    const f = analyze(rdpRequest, rdpConfirm(0x03, 0x00000005));
    expect(f.rdp?.failure).toBe("hybrid_required_by_server");
    expect(f.rdp?.selectedProtocol).toBeNull();
    expect(names(f.anomalies)).toEqual(["rdp_negotiation_failure"]);
  });

  it("keeps a routing token as the cookie, and works without RDP_NEG_REQ", () => {
    const token = "Cookie: msts=3640205228.15629.0000\r\n"; // 36 bytes
    const cr = bytes(
      0x03, 0x00, u16be(4 + 7 + 36), // TPKT: version, reserved, length 47
      42, 0xe0, u16be(0), u16be(0), 0x00, // LI 47 − 5, CR, DST-REF, SRC-REF, class 0
      token, // routingToken, no RDP_NEG_REQ (an old client)
    );
    const cc = bytes(0x03, 0x00, u16be(11), 6, 0xd0, u16be(0), u16be(0x1234), 0x00); // bare CC
    const f = analyze(cr, cc);
    expect(f.rdp).toEqual({ cookie: "msts=3640205228.15629.0000", requestedProtocols: [], selectedProtocol: null, failure: null });
    expect(f.anomalies).toEqual([]);
  });

  it("names malformed headers with their numbers", () => {
    // LI 40 does not match TPKT length 51 − 5.
    const badLi = Uint8Array.from(rdpRequest);
    badLi[4] = 40;
    expect(names(analyze(badLi, new Uint8Array(0)).anomalies)).toEqual(["rdp_x224_length_indicator_mismatch"]);
    // TPKT length claims 200 bytes; only 51 were captured.
    const long = Uint8Array.from(rdpRequest);
    long[2] = 0x00;
    long[3] = 200;
    const f = analyze(long, new Uint8Array(0));
    expect(names(f.anomalies)).toContain("rdp_tpkt_length_exceeds_data");
    expect(f.anomalies.find((a) => a.name === "rdp_tpkt_length_exceeds_data")?.message).toContain("200");
    // Server selects RDSTLS, which the client did not ask for.
    expect(names(analyze(rdpRequest, rdpConfirm(0x02, 0x00000004)).anomalies)).toContain("rdp_selected_protocol_not_requested");
    // RDP_NEG_REQ with length 9.
    const negLen = Uint8Array.from(rdpRequest);
    negLen[rdpRequest.length - 6] = 9;
    expect(names(analyze(negLen, new Uint8Array(0)).anomalies)).toEqual(["rdp_neg_req_bad_length"]);
    // Server answers with an X.224 Disconnect Request.
    const dr = bytes(0x03, 0x00, u16be(11), 6, 0x80, u16be(0), u16be(0), 0x00);
    expect(names(analyze(rdpRequest, dr).anomalies)).toEqual(["rdp_x224_not_connection_confirm"]);
  });

  it("names requested protocol bits, unknown ones in hex", () => {
    expect(requestedProtocolNames(0)).toEqual(["rdp"]);
    expect(requestedProtocolNames(0x1f)).toEqual(["ssl", "hybrid", "rdstls", "hybrid_ex", "rdsaad"]);
    expect(requestedProtocolNames(0x41)).toEqual(["ssl", "0x00000040"]);
  });

  it("probe: TPKT + X.224 CR, not an ISO-TSAP (S7comm) CR with parameters", () => {
    const none = new Uint8Array(0);
    expect(rdpDetector.probe(tcp(rdpRequest, none))).toBe("match");
    expect(rdpDetector.probe(tcp(bytes(0x03, 0x00), none, { clientDone: false }))).toBe("more");
    expect(rdpDetector.probe(tcp(bytes(0x03, 0x00), none))).toBe("no");
    // S7comm COTP CR on port 102: parameters C1 (src-tsap), C2 (dst-tsap), C0 (tpdu size).
    const s7 = bytes(
      0x03, 0x00, u16be(22), // TPKT length 22
      17, 0xe0, u16be(0), u16be(0x0001), 0x00, // LI, CR, DST-REF, SRC-REF, class 0
      0xc1, 2, 0x01, 0x00, // calling TSAP
      0xc2, 2, 0x01, 0x02, // called TSAP
      0xc0, 1, 0x0a, // TPDU size 1024
    );
    expect(rdpDetector.probe(tcp(s7, none))).toBe("no");
    // Only the server's CC was captured.
    expect(rdpDetector.probe(tcp(none, rdpConfirm(0x02, 1)))).toBe("match");
  });
});
