/**
 * A minimal whole-file pcap / pcapng reader for the decoder's corpus test, kept here so that the
 * decoder tests do not depend on src/capture. It numbers frames as tshark does (pcapng custom
 * blocks count as frames) and stops at the first record that does not fit, as tshark does.
 */
export interface FileRecord {
  frame: number;
  tsSec: number;
  caplen: number;
  origLen: number;
  linkType: number;
  data: Uint8Array;
}

export function readCaptureFile(buf: Uint8Array): FileRecord[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4) return [];
  return dv.getUint32(0, false) === 0x0a0d0d0a ? readPcapng(buf, dv) : readPcap(buf, dv);
}

function readPcap(buf: Uint8Array, dv: DataView): FileRecord[] {
  const magic = dv.getUint32(0, true);
  let le: boolean;
  let nano = false;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error("not a pcap file");
  nano = dv.getUint32(0, le) === 0xa1b23c4d;
  void nano;
  const linkType = dv.getUint32(20, le) & 0xffff; // upper bits: FCS length flags
  const out: FileRecord[] = [];
  for (let off = 24, frame = 1; off + 16 <= buf.length; frame++) {
    const tsSec = dv.getUint32(off, le);
    const caplen = dv.getUint32(off + 8, le);
    const origLen = dv.getUint32(off + 12, le);
    if (off + 16 + caplen > buf.length) break;
    out.push({ frame, tsSec, caplen, origLen, linkType, data: buf.subarray(off + 16, off + 16 + caplen) });
    off += 16 + caplen;
  }
  return out;
}

function readPcapng(buf: Uint8Array, dv: DataView): FileRecord[] {
  const out: FileRecord[] = [];
  let le = true;
  let ifaces: { linkType: number; tsDiv: number }[] = [];
  let frame = 1;
  for (let off = 0; off + 12 <= buf.length; ) {
    if (dv.getUint32(off, true) === 0x0a0d0d0a) {
      // Section header: the byte-order magic decides the section's endianness.
      le = dv.getUint32(off + 8, true) === 0x1a2b3c4d;
      ifaces = [];
    }
    const type = dv.getUint32(off, le);
    const len = dv.getUint32(off + 4, le);
    if (len < 12 || off + len > buf.length) break;
    if (type === 1) {
      let tsDiv = 1e6;
      // Options after linktype(2) reserved(2) snaplen(4): if_tsresol is code 9.
      for (let o = off + 16; o + 4 <= off + len - 4; ) {
        const code = dv.getUint16(o, le);
        const olen = dv.getUint16(o + 2, le);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const v = buf[o + 4];
          tsDiv = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
        }
        o += 4 + ((olen + 3) & ~3);
      }
      ifaces.push({ linkType: dv.getUint16(off + 8, le), tsDiv });
    } else if (type === 6 || type === 2) {
      // Enhanced (6) or obsolete (2) packet block.
      const ifId = type === 6 ? dv.getUint32(off + 8, le) : dv.getUint16(off + 8, le);
      const ts = dv.getUint32(off + 12, le) * 2 ** 32 + dv.getUint32(off + 16, le);
      const caplen = dv.getUint32(off + 20, le);
      const origLen = dv.getUint32(off + 24, le);
      const iface = ifaces[ifId] ?? { linkType: -1, tsDiv: 1e6 };
      out.push({ frame, tsSec: Math.floor(ts / iface.tsDiv), caplen, origLen, linkType: iface.linkType, data: buf.subarray(off + 28, off + 28 + caplen) });
      frame++;
    } else if (type === 3) {
      // Simple packet block: interface 0, no timestamp.
      const origLen = dv.getUint32(off + 8, le);
      const caplen = Math.min(origLen, len - 16);
      out.push({ frame, tsSec: 0, caplen, origLen, linkType: ifaces[0]?.linkType ?? -1, data: buf.subarray(off + 12, off + 12 + caplen) });
      frame++;
    } else if (type === 0x00000bad || type === 0x40000bad) {
      frame++; // tshark shows custom blocks as frames
    }
    off += len;
  }
  return out;
}
