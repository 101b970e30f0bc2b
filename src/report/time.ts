/** ISO 8601 UTC with nanoseconds, e.g. "2013-01-04T19:47:28.512314000Z" (tshark prints 9 digits too). */
export function isoTime(sec: number, nsec: number): string {
  // A report's times fall in few distinct seconds (two per conversation, in order): the date and
  // time part of the last second asked is kept, not made again by a Date for every one.
  if (sec !== lastSec) {
    // Made before lastSec is set: a second out of Date's range throws here every time it is asked.
    lastBase = new Date(sec * 1000).toISOString().slice(0, 19); // "YYYY-MM-DDTHH:MM:SS"
    lastSec = sec;
  }
  return `${lastBase}.${String(nsec).padStart(9, "0")}Z`;
}

let lastSec = Number.NaN;
let lastBase = "";

/** Seconds between two (sec, nsec) instants, as a float. */
export function durationSeconds(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return bSec - aSec + (bNsec - aNsec) / 1e9;
}
