// The floor the benchmark measures against: the least work any pcap tool must do over the file.
//   node test/bench/floor.mjs walk FILE     read the file and walk the record headers (count, sum lengths)
//   node test/bench/floor.mjs decode FILE   the same plus an L2-L4 decode of every packet
//                                           (Ethernet/VLAN, IPv4/IPv6, TCP/UDP ports and flags)
// Reads with one reused 1 MiB buffer (a record cut by the buffer end is moved to its start).
// Prints one JSON line: {packets, bytes, check}. Classic little-endian microsecond pcap only.
import { openSync, readSync, closeSync } from "node:fs";

const [mode, file] = process.argv.slice(2);
const fd = openSync(file, "r");
const BUF = 1 << 20;
let buf = Buffer.allocUnsafe(BUF);
let len = readSync(fd, buf, 0, BUF, null);
let pos = 24; // file header
let packets = 0;
let bytes = 0;
let check = 0;
const decode = mode === "decode";
for (;;) {
  if (len - pos < 16 || len - pos < 16 + buf.readUInt32LE(pos + 8)) {
    // Move the partial record to the front and refill.
    const rest = len - pos;
    const need = rest >= 16 ? 16 + buf.readUInt32LE(pos + 8) : 16;
    const nb = need > BUF ? Buffer.allocUnsafe(need * 2) : buf;
    buf.copy(nb, 0, pos, len);
    buf = nb;
    const n = readSync(fd, buf, rest, buf.length - rest, null);
    len = rest + n;
    pos = 0;
    if (n === 0) break;
    continue;
  }
  const caplen = buf.readUInt32LE(pos + 8);
  bytes += buf.readUInt32LE(pos + 12);
  packets++;
  if (decode) check += l2l4(buf, pos + 16, caplen);
  pos += 16 + caplen;
}
closeSync(fd);
console.log(JSON.stringify({ packets, bytes, check }));

function l2l4(b, o, n) {
  const end = o + n;
  if (n < 14) return 0;
  let et = (b[o + 12] << 8) | b[o + 13];
  let p = o + 14;
  while ((et === 0x8100 || et === 0x88a8) && p + 4 <= end) {
    et = (b[p + 2] << 8) | b[p + 3];
    p += 4;
  }
  let proto;
  if (et === 0x0800) {
    if (p + 20 > end) return 0;
    const ihl = (b[p] & 15) * 4;
    proto = b[p + 9];
    p += ihl;
  } else if (et === 0x86dd) {
    if (p + 40 > end) return 0;
    proto = b[p + 6];
    p += 40;
  } else return 0;
  if ((proto === 6 && p + 20 <= end) || (proto === 17 && p + 8 <= end)) {
    const sport = (b[p] << 8) | b[p + 1];
    const dport = (b[p + 2] << 8) | b[p + 3];
    return (sport ^ dport ^ (proto === 6 ? b[p + 13] : 0)) & 0xff;
  }
  return 0;
}
