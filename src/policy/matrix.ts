/**
 * The port matrix: which conversations a proxy is expected to have. The built-in Phoenix matrix is
 * data (phoenix-matrix.json), validated by the same code as a user's matrix file, which can extend
 * it (rows with a new id are added, an existing id replaces that row) or replace it.
 *
 * The model (types, values, row matching) is matrix-model.ts, the schema matrix-schema.ts; this
 * file merges and loads, and re-exports both for the rest of the code. docs/matrix-format.md
 * describes the format for users.
 */
import phoenix from "./phoenix-matrix.json" with { type: "json" };
import { type Matrix, type MatrixFile, MatrixError } from "./matrix-model.js";
import { validateMatrixDocument } from "./matrix-schema.js";
import { STANDARD_ROLES } from "./roles.js";
import { Problems, joinPath, parseStructured, readStructuredFile } from "./validate.js";
import type { ParsedDocument } from "./validate.js";

export * from "./matrix-model.js";
export { validateMatrixDocument } from "./matrix-schema.js";

/** Apply a validated file to a base matrix: extend (by id) or replace. */
export function mergeMatrix(base: Matrix, user: MatrixFile): Matrix {
  // Role names only ever add: the standard ones are part of the report contract.
  const roles = { ...base.roles, ...(user.roles ?? {}) };
  if (user.mode === "replace") {
    return {
      product: user.product ?? base.product,
      version: user.version ?? "",
      roles,
      rows: [...(user.rows ?? [])],
      infrastructure: [...(user.infrastructure ?? [])],
      related: [...(user.related ?? [])],
    };
  }
  const problems = new Problems();
  const sectionOf = new Map<string, string>();
  for (const key of ["rows", "infrastructure", "related"] as const) for (const e of base[key]) sectionOf.set(e.id, key);
  const byId = <T extends { id: string }>(key: "rows" | "infrastructure" | "related", list: T[], add: T[] | undefined): T[] => {
    const out = [...list];
    (add ?? []).forEach((e, i) => {
      const where = sectionOf.get(e.id);
      if (where !== undefined && where !== key) {
        problems.add(
          joinPath(joinPath(key, i), "id"),
          `expected an id not used elsewhere, got ${JSON.stringify(e.id)}, which the base matrix uses in ${where}`,
        );
        return;
      }
      const at = out.findIndex((x) => x.id === e.id);
      if (at >= 0) out[at] = e;
      else out.push(e);
    });
    return out;
  };
  const merged: Matrix = {
    product: user.product ?? base.product,
    version: user.version ?? base.version,
    roles,
    rows: byId("rows", base.rows, user.rows),
    infrastructure: byId("infrastructure", base.infrastructure, user.infrastructure),
    related: byId("related", base.related, user.related),
  };
  if (!problems.ok) throw new MatrixError("matrix file", problems.list);
  return merged;
}

let builtin: Matrix | null = null;

/**
 * The built-in Phoenix matrix, validated by the same code as user files (a mistake in the JSON
 * throws MatrixError at first use). Returns a fresh deep copy each call, so callers may mutate it.
 */
export function builtinMatrix(): Matrix {
  if (!builtin) {
    const problems = new Problems();
    const doc = phoenix as unknown as Record<string, unknown>;
    const f = validateMatrixDocument({ ...doc, mode: "replace" }, problems, "phoenix-matrix.json");
    if (!problems.ok) throw new MatrixError("built-in matrix phoenix-matrix.json", problems.list);
    builtin = {
      product: f.product!,
      version: f.version ?? "",
      roles: f.roles ?? {},
      rows: f.rows ?? [],
      infrastructure: f.infrastructure ?? [],
      related: f.related ?? [],
    };
  }
  return structuredClone(builtin);
}

/** Role names a matrix knows: the standard ones plus any it declares. */
export function roleNames(m: Matrix): string[] {
  return [...new Set([...STANDARD_ROLES, ...Object.keys(m.roles)])];
}

function finish(parsed: ParsedDocument, name: string, base: Matrix): Matrix {
  const problems = new Problems();
  if (!parsed.ok) throw new MatrixError(`matrix file ${name}`, [parsed.problem]);
  const file = validateMatrixDocument(parsed.value, problems, name, roleNames(base));
  if (!problems.ok) throw new MatrixError(`matrix file ${name}`, problems.list);
  try {
    return mergeMatrix(base, file);
  } catch (err) {
    if (err instanceof MatrixError) throw new MatrixError(`matrix file ${name}`, err.problems);
    throw err;
  }
}

/**
 * Read a matrix file (JSON if it parses as JSON, else YAML), validate it, and apply it to `base`
 * (the built-in matrix unless given). Throws MatrixError listing every mistake.
 */
export function loadMatrixFile(path: string, base: Matrix = builtinMatrix()): Matrix {
  return finish(readStructuredFile(path), path, base);
}

/** The same from text already in memory; `name` stands for the file in messages and sources. */
export function parseMatrixText(text: string, name: string, base: Matrix = builtinMatrix()): Matrix {
  return finish(parseStructured(text), name, base);
}
