/** ISO 8601 UTC with nanoseconds, e.g. "2013-01-04T19:47:28.512314000Z" (tshark prints 9 digits too). */
export function isoTime(sec: number, nsec: number): string {
  const base = new Date(sec * 1000).toISOString(); // "YYYY-MM-DDTHH:MM:SS.000Z"
  return `${base.slice(0, 19)}.${String(nsec).padStart(9, "0")}Z`;
}

/** Seconds between two (sec, nsec) instants, as a float. */
export function durationSeconds(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return bSec - aSec + (bNsec - aNsec) / 1e9;
}
