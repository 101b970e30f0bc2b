#!/usr/bin/env node
// Real traffic for the live-capture tests and benchmark (test/capture/live*.test.ts,
// test/bench/live.bench.ts). Every mode is bounded in count and time and stops by itself; it only
// talks to the address it is given (loopback, or a test namespace's 10.88.0.0/24 address).
//
//   server --bind IP --tls-port P --udp-port Q --cert FILE --key FILE [--seconds S]
//       TLS server that answers one line with "ok <line>" and closes; UDP NTP server that answers
//       each client request (mode 3) with a server reply (mode 4). Prints "ready" when listening.
//   client --host IP --tls-port P --udp-port Q [--sni NAME] [--count N]
//       N TLS connections (TLS 1.3, send a line, read the answer) and N NTP requests, one after
//       another, each waiting for its answer. Prints {"tls": n, "ntp": n} and exits.
//   flood --host IP --port P --rate R --seconds S [--size B]
//       a bounded UDP sender at about R packets/s for S seconds to a socket it binds itself (so
//       no ICMP port-unreachable comes back). Prints {"sent": n, "seconds": s} and exits.
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:tls";

const [mode, ...rest] = process.argv.slice(2);
const args = {};
for (let i = 0; i < rest.length; i += 2) args[rest[i].replace(/^--/, "")] = rest[i + 1];
const num = (k, d) => (args[k] === undefined ? d : Number(args[k]));

/** An NTP v4 packet (RFC 5905 §7.3): 48 bytes; byte 0 = LI 0 | VN 4 | mode. */
function ntpPacket(mode, origin) {
  const b = Buffer.alloc(48);
  b[0] = (4 << 3) | mode; // LI 0, VN 4, mode 3 (client) or 4 (server)
  b[1] = mode === 4 ? 2 : 0; // stratum: 2 for the server (synchronised to a stratum-1 clock)
  b[2] = 6; // poll: 2^6 s
  b[3] = 0xec; // precision: 2^-20 s
  b.writeUInt32BE(mode === 4 ? 0x00000100 : 0, 4); // root delay 1/256 s (16.16)
  b.writeUInt32BE(mode === 4 ? 0x00000200 : 0, 8); // root dispersion 2/256 s
  if (mode === 4) b.write("LOCL", 12, "latin1"); // reference id
  const now = BigInt(Date.now()) * 4294967n / 1000n + (2208988800n << 32n); // NTP era-0 time
  if (origin) origin.copy(b, 24, 40, 48); // origin = the client's transmit timestamp
  if (mode === 4) {
    b.writeBigUInt64BE(now, 16); // reference
    b.writeBigUInt64BE(now, 32); // receive
  }
  b.writeBigUInt64BE(now, 40); // transmit
  return b;
}

async function server() {
  const bind = args.bind ?? "127.0.0.1";
  const seconds = num("seconds", 30);
  const tls = createServer({ cert: readFileSync(args.cert), key: readFileSync(args.key) }, (s) => {
    s.setEncoding("utf8");
    s.once("data", (line) => s.end(`ok ${line}`));
    s.on("error", () => {});
  });
  const udp = createSocket("udp4");
  udp.on("message", (m, r) => {
    if (m.length >= 48 && (m[0] & 7) === 3) udp.send(ntpPacket(4, m), r.port, r.address);
  });
  await new Promise((res) => tls.listen(num("tls-port"), bind, res));
  await new Promise((res) => udp.bind(num("udp-port"), bind, res));
  process.stdout.write("ready\n");
  const stop = () => {
    tls.close();
    udp.close();
    process.exit(0);
  };
  setTimeout(stop, seconds * 1000).unref();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  setInterval(() => {}, 1000);
}

async function client() {
  const host = args.host ?? "127.0.0.1";
  const n = num("count", 1);
  let tlsDone = 0;
  let ntpDone = 0;
  for (let i = 0; i < n; i++) {
    await new Promise((res, rej) => {
      const s = connect({ host, port: num("tls-port"), servername: args.sni ?? "proxy.test", rejectUnauthorized: false, minVersion: "TLSv1.3" }, () => {
        s.write(`hello ${i}\n`);
      });
      s.setEncoding("utf8");
      let got = "";
      s.on("data", (d) => (got += d));
      s.on("end", () => {
        if (got.startsWith("ok ")) tlsDone++;
        s.end();
        res();
      });
      s.on("error", rej);
      s.setTimeout(5000, () => rej(new Error("TLS timeout")));
    });
    const udp = createSocket("udp4");
    await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error("NTP timeout")), 5000);
      udp.on("message", (m) => {
        if ((m[0] & 7) === 4) ntpDone++;
        clearTimeout(t);
        res();
      });
      udp.send(ntpPacket(3), num("udp-port"), host);
    });
    udp.close();
  }
  process.stdout.write(JSON.stringify({ tls: tlsDone, ntp: ntpDone }) + "\n");
}

async function flood() {
  const host = args.host ?? "127.0.0.1";
  const rate = num("rate", 20000);
  const seconds = num("seconds", 3);
  const payload = Buffer.alloc(num("size", 64), 0x61);
  const sink = createSocket("udp4");
  sink.on("message", () => {});
  await new Promise((res) => sink.bind(num("port"), host, res));
  const tx = createSocket("udp4");
  await new Promise((res) => tx.bind(0, host, res));
  const max = Math.round(rate * seconds);
  let sent = 0;
  let queued = 0;
  const t0 = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
  // Send in 1 ms slices, as many as the rate allows by now; never more than `max` in all, and
  // never past `seconds` + 2 s of wall time.
  while (queued < max && elapsed() < seconds + 2) {
    const due = Math.min(max, Math.floor(elapsed() * rate));
    while (queued < due) {
      queued++;
      tx.send(payload, num("port"), host, (err) => {
        if (!err) sent++;
      });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 200)); // last send callbacks
  process.stdout.write(JSON.stringify({ sent, seconds: elapsed() }) + "\n");
  tx.close();
  sink.close();
}

const modes = { server, client, flood };
if (!modes[mode]) {
  process.stderr.write("usage: live-traffic.mjs server|client|flood --option value ...\n");
  process.exit(2);
}
modes[mode]().catch((e) => {
  process.stderr.write(`live-traffic ${mode}: ${e.message}\n`);
  process.exit(1);
});
