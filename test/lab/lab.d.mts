// Types for lab.mjs (the parts the tests use).
export const SCENARIOS: Record<string, string>;
export const REQUIRED_BINARIES: string[];
export function missingBinaries(): string[];
export function countTransport(file: string): number;
export function main(argv: string[]): Promise<number>;
