// Bounded traffic generator for the benchmark capture (run by record.sh inside a private network
// namespace: every address below is that namespace's loopback). It stops by itself after
// --seconds or when every loop has run its count, whichever comes first.
//
// Mixed on purpose, so the capture looks like a proxy's day rather than one bulk transfer:
//   - HTTP/1.1 to nginx :8080: short pages on fresh connections, keep-alive batches, bulk downloads;
//   - HTTPS to nginx :8443: full TLS handshakes (new connection each), keep-alive batches, bulk;
//   - UDP: request/response datagrams to a local echo server (:5300, "DNS-sized") and :1230
//     (NTP-sized, 48 bytes), many source ports.
import http from "node:http";
import https from "node:https";
import dgram from "node:dgram";

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const SECONDS = Number(args.seconds ?? 120);
const deadline = Date.now() + SECONDS * 1000;
const alive = () => Date.now() < deadline;

function get(mod, opts) {
  return new Promise((resolve) => {
    const req = mod.get({ host: "127.0.0.1", rejectUnauthorized: false, ...opts }, (res) => {
      if (process.env.PNC_BENCH_DEBUG && res.statusCode !== 200) console.error(opts.path, res.statusCode);
      res.on("data", () => {});
      res.on("end", resolve);
      res.on("error", resolve);
    });
    req.on("error", (e) => {
      if (process.env.PNC_BENCH_DEBUG) console.error(opts.path, e.message);
      resolve();
    });
    req.setTimeout(10_000, () => req.destroy());
  });
}

async function loop(n, fn) {
  for (let i = 0; i < n && alive(); i++) await fn(i);
}

const plain = new http.Agent({ keepAlive: true, maxSockets: 1 });
const tls = new https.Agent({ keepAlive: true, maxSockets: 1 });
// Mostly short pages; one in sixteen is 20 KB.
const paths = [...Array(15).fill(0).map((_, i) => (i % 3 === 2 ? "/s/2k" : "/s/200")), "/s/20k"];

const jobs = [
  // Fresh HTTP connections: handshake, one small page, close.
  loop(Number(args.httpConns ?? 12000), (i) => get(http, { port: 8080, path: paths[i % 16], agent: false })),
  // Keep-alive HTTP: many small requests on one connection.
  loop(Number(args.httpKeepalive ?? 400000), (i) => get(http, { port: 8080, path: paths[i % 2], agent: plain })),
  // Fresh TLS connections (full handshakes).
  loop(Number(args.tlsConns ?? 3000), (i) => get(https, { port: 8443, path: paths[i % 16], agent: false })),
  // Keep-alive TLS.
  loop(Number(args.tlsKeepalive ?? 200000), (i) => get(https, { port: 8443, path: paths[i % 2], agent: tls })),
  // Bulk downloads, both in clear and in TLS.
  loop(Number(args.bulk ?? 60), (i) => get(i % 2 ? https : http, { port: i % 2 ? 8443 : 8080, path: "/b/1m", agent: false })),
  udpLoop(Number(args.udpFlows ?? 2000), Number(args.udpPerFlow ?? 100)),
];

async function udpLoop(flows, perFlow) {
  for (let f = 0; f < flows && alive(); f++) {
    const s = dgram.createSocket("udp4");
    await new Promise((r) => s.bind(0, "127.0.0.1", r));
    const port = f % 4 === 0 ? 1230 : 5300;
    const size = port === 1230 ? 48 : 40 + (f % 120);
    const msg = Buffer.alloc(size, f & 0xff);
    let got = 0;
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 2000);
      s.on("message", () => {
        if (++got >= perFlow) {
          clearTimeout(t);
          resolve();
        } else s.send(msg, port, "127.0.0.1");
      });
      s.send(msg, port, "127.0.0.1");
    });
    s.close();
  }
}

await Promise.all(jobs);
plain.destroy();
tls.destroy();
