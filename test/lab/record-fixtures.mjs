#!/usr/bin/env node
// Records the lab captures committed in fixtures/lab/ and the bundled sample fixtures/sample.pcapng
// (with their expectations and roles files), by running the lab (test/lab/lab.mjs) with --once.
//
//   sudo node test/lab/record-fixtures.mjs [--seed N]      (default seed 7)
//
// Replaces fixtures/lab/* and fixtures/sample.{pcapng,expected.json,roles.json}; the sample's
// README (fixtures/sample.README.md) is written by hand from fixtures/lab/lab.json's versions.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const LAB = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(LAB, "../..");
const FIX = path.join(ROOT, "fixtures");
const args = process.argv.slice(2);
const seed = args[0] === "--seed" ? Number(args[1]) : 7;

/** The scenarios kept, and which of the three proxy captures each keeps (all three kinds appear). */
const KEEP = {
  good: ["good.pcap"],
  "good.guest-lo": ["good.guest-lo.pcap"],
  "plaintext-vcenter-443": ["plaintext-vcenter-443.pcapng"],
  "drop-esxi-902": ["drop-esxi-902.any.pcap"],
  "esxi-443-managed": ["esxi-443-managed.pcap"],
};
const SAMPLE = ["good", "tls10-guest-3542", "drop-esxi-902", "stray-8080"];

function lab(argv) {
  const r = spawnSync(process.execPath, [path.join(LAB, "lab.mjs"), ...argv], { stdio: "inherit", timeout: 300_000 });
  if (r.status !== 0) throw new Error(`lab.mjs ${argv.join(" ")} exited ${r.status}`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pnc-lab-fixtures."));
try {
  const labOut = path.join(tmp, "lab");
  const sampleOut = path.join(tmp, "sample");
  const scenarios = Object.keys(KEEP).filter((k) => !k.includes("."));
  const labArgs = ["--seed", String(seed), "--once", "--scenarios", scenarios.join(","), "--out", labOut];
  const sampleArgs = ["--seed", String(seed), "--once", "--combine", SAMPLE.join(","), "--name", "sample", "--out", sampleOut];
  lab(labArgs);
  lab(sampleArgs);

  const labDir = path.join(FIX, "lab");
  // Everything but the hand-written README.md is the lab's output, replaced as a whole.
  fs.mkdirSync(labDir, { recursive: true });
  for (const f of fs.readdirSync(labDir)) if (f !== "README.md") fs.rmSync(path.join(labDir, f), { recursive: true, force: true });
  for (const [name, files] of Object.entries(KEEP)) {
    const exp = JSON.parse(fs.readFileSync(path.join(labOut, `${name}.expected.json`), "utf8"));
    exp.files = exp.files.filter((f) => files.includes(f.file));
    if (exp.files.length !== files.length) throw new Error(`${name}: expected files ${files.join(", ")}`);
    for (const f of files) fs.copyFileSync(path.join(labOut, f), path.join(labDir, f));
    fs.writeFileSync(path.join(labDir, `${name}.expected.json`), JSON.stringify(exp, null, 2) + "\n");
  }
  fs.copyFileSync(path.join(labOut, "roles.json"), path.join(labDir, "roles.json"));
  const run = JSON.parse(fs.readFileSync(path.join(labOut, "lab.json"), "utf8"));
  run.recordedWith = `sudo node test/lab/record-fixtures.mjs --seed ${seed}  (node test/lab/lab.mjs ${labArgs.slice(0, -2).join(" ")})`;
  fs.writeFileSync(path.join(labDir, "lab.json"), JSON.stringify(run, null, 2) + "\n");

  const sexp = JSON.parse(fs.readFileSync(path.join(sampleOut, "sample.expected.json"), "utf8"));
  sexp.files = sexp.files.filter((f) => f.file === "sample.pcapng");
  sexp.rolesFile = "sample.roles.json";
  fs.copyFileSync(path.join(sampleOut, "sample.pcapng"), path.join(FIX, "sample.pcapng"));
  fs.copyFileSync(path.join(sampleOut, "roles.json"), path.join(FIX, "sample.roles.json"));
  fs.writeFileSync(path.join(FIX, "sample.expected.json"), JSON.stringify(sexp, null, 2) + "\n");
  const srun = JSON.parse(fs.readFileSync(path.join(sampleOut, "lab.json"), "utf8"));
  console.log(`sample: node test/lab/lab.mjs ${sampleArgs.slice(0, -2).join(" ")}  (${srun.date})`);
  console.log(srun.versions.debianPackages.join("\n"));
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
