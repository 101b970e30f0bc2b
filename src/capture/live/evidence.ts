/**
 * The evidence file of a live capture (`capture -w FILE`): every delivered packet is written to a
 * pcapng as it comes (writer/pcapng.ts), and a write failure ends the file, never the capture.
 */
import { readFileSync } from "node:fs";
import type { CaptureError, EngineName, RawPacket } from "../types.js";
import { PcapngWriter, type PcapngStats } from "../writer/pcapng.js";
import { LiveCaptureError } from "./engine.js";

export interface EvidenceOptions {
  /** The file's name, for the report and messages. */
  name: string;
  /** An open descriptor to write it to (the caller closes it), else `name` is opened here. */
  fd: number | null;
  iface: string;
  snaplen: number;
  filter: string | null;
  /** shb_userappl. */
  application?: string;
  engine: EngineName;
}

/**
 * Writes the packets to the evidence file while the capture runs. On a write error (disk full) the
 * writer cuts the file back to its last whole block and stops; `error` then names the first frame
 * missing from the file and the file's size — a frame and an offset that exist, not ones past its
 * end.
 */
export class EvidenceTee {
  /** The write failure, once there was one (the file ends before it). */
  error: CaptureError | null = null;

  private constructor(private readonly name: string, private writer: PcapngWriter | null) {}

  /** No evidence file: every call does nothing. */
  static none(): EvidenceTee {
    return new EvidenceTee("", null);
  }

  /** Opens the file and writes its header; throws LiveCaptureError("write") when it cannot. */
  static open(o: EvidenceOptions): EvidenceTee {
    try {
      const writer = new PcapngWriter(o.fd != null ? { fd: o.fd } : o.name, {
        ifName: o.iface,
        snaplen: o.snaplen,
        filter: o.filter,
        application: o.application,
        os: `${process.platform} ${osRelease()}`,
        ifComment:
          o.engine === "cap"
            ? "captured with the cap engine: timestamps taken on arrival in the analyzer (not by the kernel); original length = captured length"
            : null,
      });
      return new EvidenceTee(o.name, writer);
    } catch (e) {
      throw new LiveCaptureError("write", `cannot write ${o.name}: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  /**
   * Writes one packet. With -w the frame's offset becomes where its EPB starts in the evidence
   * file, so an error message's offset can be looked up there.
   */
  write(p: RawPacket): void {
    if (this.writer === null) return;
    try {
      p.offset = this.writer.writePacket(p.linkType, p.tsSec, p.tsNsec, p.data, p.caplen, p.origLen);
    } catch (e) {
      this.failed(e);
    }
  }

  /** Puts what is buffered into the file (a few times a second, so Ctrl-C loses nothing). */
  flush(): void {
    try {
      this.writer?.flush();
    } catch (e) {
      this.failed(e);
    }
  }

  /** Where the file stands (for an error that has no frame of its own); 0 without a file. */
  get offset(): number {
    return this.writer?.offset ?? 0;
  }

  /** Writes the statistics block and closes the file; returns the error when that write failed. */
  close(stats: PcapngStats): CaptureError | null {
    try {
      this.writer?.close(stats);
    } catch (e) {
      this.failed(e);
      return this.error;
    }
    return null;
  }

  /** The capture never started: close the file as it is. */
  discard(): void {
    this.writer?.close();
  }

  private failed(e: unknown): void {
    const writer = this.writer;
    if (writer === null) return;
    const inFile = writer.packetsInFile;
    this.error = {
      frame: inFile + 1,
      offset: writer.fileBytes,
      message: `writing ${this.name} failed (${(e as Error).message.split("\n")[0]}): ${inFile === 0 ? "the file holds no frame, only its header" : `the file ends after frame ${inFile}`}, at offset ${writer.fileBytes}; frames from ${inFile + 1} on were analyzed but are not in it`,
      fatal: false,
    };
    writer.abandon();
    this.writer = null;
  }
}

function osRelease(): string {
  try {
    return readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    return "";
  }
}
