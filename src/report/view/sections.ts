/**
 * The report's sections: their names for --sections, what the first screen shows, and their
 * titles, the same in every format.
 */

/** Sections of the table and Markdown reports, by the names --sections takes. */
export const REPORT_SECTIONS = ["fix-first", "coverage", "findings", "roles", "matrix", "conversations", "captures"] as const;
export type ReportSection = (typeof REPORT_SECTIONS)[number];
/** What the terminal shows without --verbose: the verdict, what to fix first, the limits, the findings. */
export const FIRST_SCREEN_SECTIONS: readonly ReportSection[] = ["fix-first", "coverage", "findings"];

/** Section titles, the same in every format. */
export const SECTION = {
  fixFirst: "What to fix first",
  coverage: "What the capture could not show",
  findings: "Findings",
  roles: "Roles",
  matrix: "Matrix rows",
  others: "Other conversations",
  captures: "Captures",
} as const;
