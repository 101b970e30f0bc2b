// UDP echo servers for the benchmark capture (inside record.sh's private namespace): :5300 answers
// with the datagram, :1230 with a 48-byte NTP-sized reply. Exits after --seconds.
import dgram from "node:dgram";
const seconds = Number((process.argv[2] ?? "").replace(/^--seconds=/, "") || 300);
for (const port of [5300, 1230]) {
  const s = dgram.createSocket("udp4");
  s.on("message", (m, r) => s.send(port === 1230 ? Buffer.alloc(48, 0x24) : m, r.port, r.address));
  s.bind(port, "127.0.0.1");
}
setTimeout(() => process.exit(0), seconds * 1000).unref?.();
setTimeout(() => process.exit(0), seconds * 1000);
