// Where the analyzer and the lab's expectations disagree and the analyzer is believed wrong.
//
// The expectations are NOT loosened for these: the lab still writes what the documents say the
// report should be, compareReport() still reports the difference, and the lab test and
// `npm run lab` list them as KNOWN instead of failing on them. Each entry must keep matching:
// once the analyzer is fixed, the test fails with "known mismatch no longer occurs" until the entry
// is removed here (and from docs/lab.md, "Known mismatches").
//
// scenario: the capture's scenario; mode: "explicit" (--roles) or "inferred" (no roles);
// match: the mismatch lines (as compareReport() words them) that this entry accounts for.

export const KNOWN_MISMATCHES = [
  {
    id: "ambiguous-443-counts-as-cloud",
    scenario: "missing-cloud",
    mode: "inferred",
    match: [/^finding missing-expected \(warning, rule cloud-443, tcp \*:443\): missing$/, /^summary\.verdict: expected "warn", got "pass"$/],
    why:
      "Without roles, a 443 conversation from the proxy to a host of unknown role (the vCenter, the standalone ESXi) fits cloud-443, " +
      "cloudcache-443, vcenter-443 and esxi-443 equally; the analyzer puts the first, cloud-443, in `rule` (the rest in ruleAlternatives) " +
      "and then counts it as the always-required cloud-443 row seen, so a proxy that never reaches the cloud gets no missing-expected " +
      "(docs/findings.md: rows required always are reported when not seen).",
  },
];

/** Splits one capture's mismatch lines into unexplained ones and those a known entry accounts for. */
export function splitKnown(scenario, mode, lines) {
  const entries = KNOWN_MISMATCHES.filter((k) => k.scenario === scenario && k.mode === mode);
  const known = [];
  const unknown = [];
  for (const l of lines) {
    // the line may be prefixed with "<file> [<mode>] "
    const text = l.replace(/^\S+ \[(explicit|inferred)\] /, "");
    const k = entries.find((e) => e.match.some((re) => re.test(text)));
    if (k) known.push({ id: k.id, line: l });
    else unknown.push(l);
  }
  /** Entries for this scenario and mode that matched nothing: the analyzer changed. */
  const stale = entries.filter((e) => !known.some((x) => x.id === e.id)).map((e) => e.id);
  return { known, unknown, stale };
}
