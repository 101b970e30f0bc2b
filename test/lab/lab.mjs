#!/usr/bin/env node
// The Phoenix end-to-end lab: real servers and real clients in network namespaces, captured on
// the backup proxy's interface, with a file beside each capture saying what the lab deliberately
// did and what the analyzer should therefore report. See docs/lab.md.
//
//   node test/lab/lab.mjs [--seed N] [--scenarios all|a,b,...] [--pick K] [--out DIR]
//                         [--combine a,b,... [--name NAME]] [--once] [--check] [--quiet]
//   node test/lab/lab.mjs --list          the scenarios
//   node test/lab/lab.mjs --cleanup       remove every pnc-lab-* namespace left by a killed run
//
// Needs root (network namespaces, tcpdump, low ports) and the Debian packages in docs/lab.md.
// Everything lives in namespaces named pnc-lab-<run>-*, joined by a bridge in its own namespace,
// addressed from 10.66.0.0/24 and fd66::/64 only, with no route out; every server is wrapped in
// `timeout`, every client call and wait is bounded, and everything the run made is removed at the
// end, also on failure or Ctrl-C. The host's clock and /etc/resolv.conf are never touched (chronyd
// -x; ntpdig without -s/-S; every name is resolved by asking the lab's dnsmasq with dig, and the
// answer is handed to curl with --resolve).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inferRoles, judge, prng } from "./lab-model.mjs";

const LAB = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(LAB, "../..");
// Debian's python3 starts in ~40 ms; a pyenv shim first on PATH can take ~300 ms per call.
const PY = process.env.PYTHON || (fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

export const SCENARIOS = {
  good: "Everything as Phoenix expects: DNS, vCenter 443 (nginx, TLS, SNI), managed ESXi 902 (authd banner then TLS), standalone ESXi 443, both guests' 3542 (TLS >= 1.2), SSH to the Linux guest, RDP to the Windows-like guest, NTP, the cloud on 443 over IPv4 and IPv6 (SNI *.druva.com); plus a capture inside the Windows-like guest of 3545 on loopback.",
  "plaintext-vcenter-443": "vCenter serves plain HTTP on 443 (nginx without ssl); the proxy's requests cross in clear.",
  "tls10-guest-3542": "One guest's 3542 accepts only TLS 1.0 (openssl s_server -tls1). By seed, the proxy's client allows TLS 1.0 (the handshake completes in TLS 1.0) or not (the server's ServerHello picks TLS 1.0 and the client aborts with a fatal alert).",
  "drop-esxi-902": "An nftables rule on the managed ESXi host drops TCP 902: the proxy's SYNs are never answered.",
  "closed-guest-3542": "Nothing listens on one guest's 3542: the SYN is answered with a reset.",
  "esxi-443-managed": "The proxy also talks TLS on 443 to the ESXi host it reaches on 902 (a host managed through vCenter).",
  "stray-8080": "The proxy fetches a page over HTTP on TCP 8080 from one of the lab's hosts.",
  "udp-unlisted": "The proxy sends a binary UDP datagram to a port no row lists (answered or not, by seed).",
  "cloud-nonstandard-port": "The proxy talks TLS to the cloud (SNI phoenix.druva.com) on 8443 instead of 443.",
  "missing-ntp": "The proxy never asks the NTP server: an always-required row is missing.",
  "missing-cloud": "The proxy never reaches the cloud (it still looks the names up): an always-required row is missing.",
  "proxy-answers-902": "The managed ESXi host opens TCP 902 towards the proxy, and the proxy's side answers with the authd banner then TLS: the proxy must stay the proxy.",
  "vcenter-by-name": "vCenter is known by one name only (by seed: the TLS server name, its certificate seen in TLS 1.2, or a DNS answer naming vcenter.pnc-lab.test): its 443 is vcenter-443, not the cloud.",
  "weak-tls-unknown": "The proxy talks TLS 1.1 on 443 to a host the roles file does not name (openssl s_server -tls1_1).",
  "ssh-443-unknown": "An sshd listens on 443 of a host the roles file does not name; the proxy's ssh-keyscan reaches it.",
  "ntp-refused-unknown": "The proxy asks NTP of a host the roles file does not name, where nothing listens on 123: ICMP port unreachable comes back.",
  "plaintext-3542": "One guest's 3542 is a plain-HTTP nginx: the proxy's ClientHello is answered with HTTP 400 in clear.",
  "tls-902-no-banner": "The standalone ESXi host's 902 speaks TLS from the first byte (openssl s_server), without the authd banner.",
  "proxy-vlan": "The proxy also reaches the cloud from an address on an 802.1Q VLAN sub-interface (the same MAC as its eth0; frames on eth0 tagged), its TLS to the cloud conforming. Recorded on eth0 only (pcap, pcapng): with -i any each packet of a sub-interface is captured twice, on it and on eth0.",
};

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const o = { seed: 1, scenarios: "all", pick: 0, out: null, combine: null, name: null, check: false, once: false, quiet: false, list: false, cleanup: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--seed") o.seed = Number(val());
    else if (a === "--scenarios") o.scenarios = val();
    else if (a === "--pick") o.pick = Number(val());
    else if (a === "--out") o.out = val();
    else if (a === "--combine") o.combine = val();
    else if (a === "--name") o.name = val();
    else if (a === "--check") o.check = true;
    else if (a === "--once") o.once = true;
    else if (a === "--quiet") o.quiet = true;
    else if (a === "--list") o.list = true;
    else if (a === "--cleanup") o.cleanup = true;
    else if (a === "--help" || a === "-h") o.help = true;
    else throw new Error(`unknown argument ${a} (see --help)`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new Error(`--seed: expected an integer 0..4294967295, got ${o.seed}`);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Small process helpers. Every command gets a time limit.

let QUIET = false;
const log = (...a) => {
  if (!QUIET) console.log(...a);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(argv, { input, timeout = 20, cwd, allowFail = false } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { input, encoding: "utf8", timeout: timeout * 1000, cwd, killSignal: "SIGKILL" });
  if (r.error) throw new Error(`${argv.join(" ")}: ${r.error.message}`);
  if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout || "").trim().slice(0, 500)}`);
  return r;
}

/** Run CMD inside namespace NS, wrapped in `timeout`. */
function nsRun(ns, argv, o = {}) {
  const t = o.timeout ?? 15;
  return run(["ip", "netns", "exec", ns, "timeout", String(t), ...argv], { ...o, timeout: t + 5 });
}

/** Clients of one capture run in this many lanes at once. */
const LANES = 4;

/** nsRun without blocking: resolves to { status, stdout, stderr }. */
function nsRunAsync(ns, argv, o = {}) {
  return runAsync(["ip", "netns", "exec", ns, "timeout", String(o.timeout ?? 15), ...argv], o);
}

function runAsync(argv, { input, timeout = 15 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const guard = setTimeout(() => child.kill("SIGKILL"), (timeout + 5) * 1000);
    child.on("error", (e) => {
      clearTimeout(guard);
      resolve({ status: -1, stdout, stderr: `${stderr}${e.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ status: code ?? (signal ? 128 : -1), stdout, stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}

function netns(script) {
  return run(["bash", "-c", `set -e; . "${LAB}/netns.sh"; ${script}`], { timeout: 60 });
}

/** Processes we started, by PID: { pid, child, name }. */
const started = new Map();

function startProc(name, ns, argv, logFile, { cwd, limit = 300 } = {}) {
  const fd = fs.openSync(logFile, "a");
  // `ip netns exec` execs `timeout`, so the PID is timeout's, which passes our TERM on to the
  // server; its limit only matters if this script is killed with SIGKILL.
  const child = spawn("ip", ["netns", "exec", ns, "timeout", String(limit), ...argv], { stdio: ["ignore", fd, fd], cwd });
  fs.closeSync(fd);
  const entry = { pid: child.pid, child, name, exited: false };
  child.on("exit", () => {
    entry.exited = true;
  });
  started.set(child.pid, entry);
  return entry;
}

async function stopProc(entry, graceMs = 3000) {
  if (!entry || entry.exited) {
    if (entry) started.delete(entry.pid);
    return;
  }
  try {
    process.kill(entry.pid, "SIGTERM");
  } catch {
    /* already gone */
  }
  for (let waited = 0; !entry.exited && waited < graceMs; waited += 50) await sleep(50);
  if (!entry.exited) {
    try {
      process.kill(entry.pid, "SIGKILL");
    } catch {
      /* gone */
    }
    for (let waited = 0; !entry.exited && waited < 1000; waited += 50) await sleep(50);
  }
  started.delete(entry.pid);
}

async function waitFor(what, test, tenths = 50) {
  for (let i = 0; i < tenths * 4; i++) {
    if (test()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function waitListen(ns, proto, port, entry, logFile) {
  const flag = proto === "tcp" ? "-Hltn" : "-Hlun";
  await waitFor(`${proto}/${port} in ${ns}`, () => {
    if (entry && entry.exited) throw new Error(`${entry.name} exited before listening on ${proto}/${port}: ${tail(logFile)}`);
    const r = spawnSync("ip", ["netns", "exec", ns, "ss", flag, `sport = :${port}`], { encoding: "utf8", timeout: 5000 });
    return r.status === 0 && r.stdout.trim() !== "";
  });
}

function tail(file) {
  try {
    return fs.readFileSync(file, "utf8").trim().split("\n").slice(-5).join(" | ");
  } catch {
    return "(no log)";
  }
}

// ---------------------------------------------------------------------------------------------
// The lab's hosts

const HOSTS = [
  // key, namespace suffix, role (explicit roles file), IPv6 too?, a VLAN sub-interface too (10.66.1.0/24)?
  { key: "proxy", ns: "proxy", role: "proxy", v6: true, vlan: true },
  { key: "vcenter", ns: "vc", role: "vcenter", v6: false },
  { key: "esxm", ns: "esxm", role: "esxi", v6: false },
  { key: "esxs", ns: "esxs", role: "esxi-standalone", v6: false },
  { key: "lin", ns: "lin", role: "guest", v6: false },
  { key: "win", ns: "win", role: "guest", v6: false },
  { key: "ntp", ns: "ntp", role: "ntp", v6: false },
  { key: "dns", ns: "dns", role: null, v6: false },
  { key: "cloud", ns: "cloud", role: "cloud", v6: true, vlan: true },
  // A host the roles file does not name (issue 11: hosts of unknown role are judged too).
  { key: "unk", ns: "unk", role: null, v6: false },
];

const NAMES = {
  cloud: "phoenix.druva.com",
  cloud6: "storage.phoenix.druva.com",
  vcenter: "vcenter.pnc-lab.test",
  esxm: "esxi-m.pnc-lab.test",
};

/** Addresses vary with the seed: distinct host numbers in 10.66.0.0/24, the same in fd66::/64. */
function assignAddresses(rng, prefix) {
  const nums = rng.shuffle(Array.from({ length: 240 }, (_, i) => i + 10)).slice(0, HOSTS.length);
  const H = {};
  HOSTS.forEach((h, i) => {
    H[h.key] = { ...h, ns: `${prefix}-${h.ns}`, v4: `10.66.0.${nums[i]}`, v6: h.v6 ? `fd66::${nums[i].toString(16)}` : null, vlan: h.vlan ? `10.66.1.${nums[i]}` : null };
  });
  return H;
}

function rolesFile(H) {
  const roles = {};
  for (const h of Object.values(H)) {
    if (!h.role) continue;
    roles[h.role] ??= [];
    roles[h.role].push(h.v4);
    if (h.v6) roles[h.role].push(h.v6);
    if (h.vlan) roles[h.role].push(h.vlan);
  }
  return { roles };
}

// ---------------------------------------------------------------------------------------------
// Servers: each has a key (one listening slot), a signature (what exactly runs there) and the
// sockets to wait for. Before each capture the wanted set is compared with what runs, and only
// the differences are stopped or started.

function serverSpecs(H, T, cfg, deltas, choice) {
  const S = new Map();
  const ssl = (key, host, addr, port, tls, extra = {}) => {
    const flags = tls === "1.0" ? ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"] : tls === "1.1" ? ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"] : tls === "1.2" ? ["-no_tls1_3"] : [];
    const accept = addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
    S.set(key, {
      ns: host.ns, sig: `s_server ${accept} ${tls}`, listen: [["tcp", port]], cwd: T.www,
      argv: ["openssl", "s_server", "-WWW", "-accept", accept, "-cert", `${T.dir}/${extra.cert}.crt`, "-key", `${T.dir}/${extra.cert}.key`, ...flags, "-quiet"],
      what: `openssl s_server -WWW -accept ${accept}${flags.length ? " " + flags.join(" ") : ""} (TLS ${tls === "1.0" ? "1.0 only" : tls === "1.1" ? "1.1 only" : tls === "1.2" ? "up to 1.2" : "up to 1.3"})`,
    });
  };
  const d = (n) => deltas.includes(n);

  S.set("dns", {
    ns: H.dns.ns, sig: "dnsmasq", listen: [["udp", 53]],
    argv: ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll", "--bind-interfaces",
      `--listen-address=${H.dns.v4}`, "--port=53", "--user=root", "--group=root", `--pid-file=${T.dir}/dnsmasq.pid`,
      "--local=/pnc-lab.test/", "--local=/druva.com/",
      `--host-record=${NAMES.cloud},${H.cloud.v4},${H.cloud.v6}`, `--host-record=${NAMES.cloud6},${H.cloud.v6}`,
      `--host-record=${NAMES.vcenter},${H.vcenter.v4}`, `--host-record=${NAMES.esxm},${H.esxm.v4}`],
    what: "dnsmasq (no upstream; answers the lab's names)",
  });
  const plainVc = d("plaintext-vcenter-443");
  S.set("vc443", {
    ns: H.vcenter.ns, sig: `nginx ${plainVc ? "plain" : "tls" + cfg.vcTls}`, listen: [["tcp", 443]],
    argv: ["nginx", "-p", `${T.dir}/nginx`, "-c", `${T.dir}/nginx/${plainVc ? "plain" : "tls"}.conf`, "-e", `${T.dir}/nginx/error.log`, "-g", "daemon off;"],
    what: plainVc ? "nginx, plain HTTP on 443" : `nginx, TLS ${cfg.vcTls === "1.2" ? "1.2" : "1.2 and 1.3"} with server_name ${NAMES.vcenter} (SNI)`,
  });
  // authd keeps running in drop-esxi-902: the firewall in front of it drops the SYNs.
  S.set("esxm902", {
    ns: H.esxm.ns, sig: "authd", listen: [["tcp", 902]],
    argv: [PY, `${LAB}/authd.py`, "serve", "--bind", H.esxm.v4, "--port", "902", "--cert", `${T.dir}/esxm.crt`, "--key", `${T.dir}/esxm.key`, "--count", "100000", "--timeout", "300", "--tls-max", "1.2"],
    what: "test/lab/authd.py serve (authd banner, then TLS up to 1.2)",
  });
  if (d("drop-esxi-902")) {
    S.set("esxm-fw", { ns: H.esxm.ns, sig: "nft drop 902", firewall: "tcp dport 902 drop", what: "nftables: drop TCP 902 on input" });
  }
  if (d("esxi-443-managed")) ssl("esxm443", H.esxm, H.esxm.v4, 443, "1.3", { cert: "esxm" });
  ssl("esxs443", H.esxs, H.esxs.v4, 443, cfg.esxsTls, { cert: "esxs" });
  // 902 on the standalone host too (VixDiskLib reaches NFC on 902 in every transport mode).
  if (d("tls-902-no-banner")) ssl("esxs902", H.esxs, H.esxs.v4, 902, cfg.esxsTls, { cert: "esxs" });
  else {
    S.set("esxs902", {
      ns: H.esxs.ns, sig: "authd", listen: [["tcp", 902]],
      argv: [PY, `${LAB}/authd.py`, "serve", "--bind", H.esxs.v4, "--port", "902", "--cert", `${T.dir}/esxs.crt`, "--key", `${T.dir}/esxs.key`, "--count", "100000", "--timeout", "300", "--tls-max", "1.2"],
      what: "test/lab/authd.py serve (authd banner, then TLS up to 1.2)",
    });
  }
  if (d("proxy-answers-902")) {
    S.set("proxy902", {
      ns: H.proxy.ns, sig: "authd", listen: [["tcp", 902]],
      argv: [PY, `${LAB}/authd.py`, "serve", "--bind", H.proxy.v4, "--port", "902", "--cert", `${T.dir}/proxy.crt`, "--key", `${T.dir}/proxy.key`, "--count", "100000", "--timeout", "300", "--tls-max", "1.2"],
      what: "test/lab/authd.py serve on the proxy (an authd-like banner, then TLS up to 1.2)",
    });
  }
  for (const g of ["lin", "win"]) {
    if (d("closed-guest-3542") && choice.closedGuest === g) continue;
    if (d("plaintext-3542") && choice.plainGuest === g) {
      S.set(`${g}3542`, {
        ns: H[g].ns, sig: "nginx plain 3542", listen: [["tcp", 3542]],
        argv: ["nginx", "-p", `${T.dir}/nginx`, "-c", `${T.dir}/nginx/plain3542-${g}.conf`, "-e", `${T.dir}/nginx/error3542.log`, "-g", "daemon off;"],
        what: "nginx, plain HTTP on 3542 (a ClientHello gets HTTP 400 in clear)",
      });
      continue;
    }
    ssl(`${g}3542`, H[g], H[g].v4, 3542, d("tls10-guest-3542") && choice.tls10Guest === g ? "1.0" : cfg.guestTls[g], { cert: g });
  }
  if (d("weak-tls-unknown")) ssl("unk443", H.unk, H.unk.v4, 443, "1.1", { cert: "unk" });
  if (d("ssh-443-unknown")) {
    S.set("unk443", {
      ns: H.unk.ns, sig: "sshd 443", listen: [["tcp", 443]],
      argv: ["/usr/sbin/sshd", "-D", "-e", "-f", `${T.dir}/sshd443_config`], what: "OpenSSH sshd on 443",
    });
  }
  S.set("lin22", {
    ns: H.lin.ns, sig: "sshd", listen: [["tcp", 22]],
    argv: ["/usr/sbin/sshd", "-D", "-e", "-f", `${T.dir}/sshd_config`], what: "OpenSSH sshd (own config and host key)",
  });
  S.set("win3389", {
    ns: H.win.ns, sig: "xrdp", listen: [["tcp", 3389]],
    argv: ["xrdp", "--nodaemon", "--config", `${T.dir}/xrdp.ini`], what: "xrdp (security_layer=negotiate, TLS 1.2)",
  });
  // chronyd keeps running in missing-ntp: the proxy just never asks it.
  S.set("ntp123", {
    ns: H.ntp.ns, sig: "chronyd", listen: [["udp", 123]],
    argv: ["chronyd", "-x", "-d", "-u", "root", "-f", `${T.dir}/chrony.conf`], what: "chronyd -x (local stratum 8; never touches a clock)",
  });
  ssl("cloud443", H.cloud, H.cloud.v4, 443, "1.3", { cert: "cloud" });
  ssl("cloud443v6", H.cloud, H.cloud.v6, 443, "1.3", { cert: "cloud" });
  if (d("cloud-nonstandard-port")) ssl("cloud8443", H.cloud, H.cloud.v4, 8443, "1.3", { cert: "cloud" });
  if (d("proxy-vlan")) {
    // The sub-interfaces' relays (test/lab/vlan_relay.py: 802.1Q in user space) and the cloud's
    // server on its VLAN address.
    for (const h of [H.proxy, H.cloud]) {
      S.set(`vlan-${h.key}`, {
        ns: `${h.ns}-vl`, sig: `relay ${cfg.vlanId}`, listen: [], ready: "relaying",
        argv: [PY, `${LAB}/vlan_relay.py`, "--parent-netns", h.ns, "--parent", "eth0", "--inner", "vlp", "--vid", String(cfg.vlanId), "--timeout", "300"],
        what: `test/lab/vlan_relay.py: ${h.key}'s eth0v as VLAN ${cfg.vlanId} on its eth0`,
      });
    }
    ssl("cloud443vlan", H.cloud, H.cloud.vlan, 443, "1.3", { cert: "cloud" });
  }
  if (d("stray-8080")) {
    const t = H[choice.strayHost];
    S.set("stray8080", {
      ns: t.ns, sig: `http.server ${t.v4}`, listen: [["tcp", 8080]],
      argv: [PY, "-m", "http.server", "8080", "--bind", t.v4, "--directory", T.www], what: "python3 -m http.server 8080",
    });
  }
  if (d("udp-unlisted") && choice.udpAnswered) {
    const t = H[choice.udpHost];
    S.set("udp", {
      ns: t.ns, sig: `udp_big ${t.v4}:${choice.udpPort}`, listen: [["udp", choice.udpPort]],
      argv: [PY, `${LAB}/udp_big.py`, "serve", "--bind", t.v4, "--port", String(choice.udpPort), "--count", "100000", "--timeout", "300"],
      what: "test/lab/udp_big.py serve (answers each datagram with 4 bytes)",
    });
  }
  return S;
}

// ---------------------------------------------------------------------------------------------
// Conversations: what the proxy does in one capture. Each has what the lab expects to cross the
// wire and the client command that makes it.

function planConversations(H, cfg, deltas, choice, rng, nextPort) {
  const d = (n) => deltas.includes(n);
  const P = H.proxy;
  const convs = [];
  const add = (c) => {
    c.cause ??= null;
    c.ipVersion = c.client.ip.includes(":") ? 6 : 4;
    c.facts ??= {};
    convs.push(c);
    return c;
  };
  const cp = (ip) => ({ host: "proxy", ip, port: nextPort() });
  // Repeated connections: how many varies with the seed (--once: one of each, for small captures).
  const count = (lo, hi) => (cfg.once ? (rng.int(lo, hi), lo) : rng.int(lo, hi));
  const curl = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"];
  const http200 = (r) => (r.stdout.trim() === "200" ? null : `expected HTTP 200, got ${JSON.stringify(r.stdout.trim())} ${r.stderr.trim()}`);
  const tls = (version, sni, clientVersion = "TLS 1.3") => ({ clientVersion, version, sni });
  const tlsName = (v) => (v === "1.0" ? "TLS 1.0" : v === "1.2" ? "TLS 1.2" : "TLS 1.3");

  // DNS first: the names the proxy uses next.
  const lookups = [
    [NAMES.cloud, "A", H.cloud.v4],
    [NAMES.cloud, "AAAA", H.cloud.v6],
    [NAMES.cloud6, "AAAA", H.cloud.v6],
    ...(!d("vcenter-by-name") || choice.vcEvidence === "dns" ? [[NAMES.vcenter, "A", H.vcenter.v4]] : []),
    ...(d("esxi-443-managed") || rng.next() < 0.5 ? [[NAMES.esxm, "A", H.esxm.v4]] : []),
  ];
  const dns = [];
  for (const [name, type, answer] of lookups) {
    const client = cp(P.v4);
    dns.push(add({
      kind: "dns", transport: "udp", client, server: { host: "dns", ip: H.dns.v4, port: 53 },
      protocol: "dns", state: null, tls: null, outcome: "answered", facts: { dnsAnswers: [{ name, ip: answer }] },
      how: `dig @${H.dns.v4} -b ${client.ip}#${client.port} ${name} ${type}`,
      cmd: { argv: ["dig", "+tries=1", "+time=2", "+nocookie", "+short", `@${H.dns.v4}`, "-b", `${client.ip}#${client.port}`, name, type] },
      check: (r) => (r.stdout.trim() === answer ? null : `dig ${name} ${type}: expected ${answer}, got ${JSON.stringify(r.stdout.trim())}`),
    }));
  }

  const rest = [];
  const push = (c) => rest.push(c);

  // vCenter 443: nginx by name (SNI), or plain HTTP in plaintext-vcenter-443. In vcenter-by-name
  // one kind of evidence names it (seed): the SNI, the certificate (TLS 1.2, by address), or the
  // DNS answer (by address). Its certificate is seen only when TLS 1.2 is negotiated.
  for (let i = count(1, 3); i > 0; i--) {
    const client = cp(P.v4);
    const plain = d("plaintext-vcenter-443");
    const ev = d("vcenter-by-name") ? choice.vcEvidence : "sni";
    const byName = plain || ev === "sni";
    const url = plain ? `http://${NAMES.vcenter}:443/` : byName ? `https://${NAMES.vcenter}/` : `https://${H.vcenter.v4}/`;
    const version = ev === "certificate" ? "TLS 1.2" : tlsName(cfg.vcTls);
    const extra = ev === "certificate" ? ["--tls-max", "1.2"] : [];
    push({
      kind: "vcenter-443", transport: "tcp", client, server: { host: "vcenter", ip: H.vcenter.v4, port: 443 },
      protocol: plain ? "http" : "tls", state: "established", tls: plain ? null : tls(version, byName ? NAMES.vcenter : null, ev === "certificate" ? "TLS 1.2" : "TLS 1.3"),
      facts: plain ? { httpHost: `${NAMES.vcenter}:443`, httpPath: "/" } : { sni: byName ? NAMES.vcenter : null, certNames: version === "TLS 1.2" ? [NAMES.vcenter] : [] },
      outcome: "answered", cause: plain ? "plaintext-vcenter-443" : d("vcenter-by-name") ? "vcenter-by-name" : null,
      how: `curl -k${extra.length ? " " + extra.join(" ") : ""}${byName ? ` --resolve ${NAMES.vcenter}:443:${H.vcenter.v4}` : ""} --local-port ${client.port} ${url}`,
      cmd: { argv: [...curl, "-k", ...extra, ...(byName ? ["--resolve", `${NAMES.vcenter}:443:${H.vcenter.v4}`] : []), "--local-port", String(client.port), url] }, check: http200,
    });
  }

  // Managed ESXi 902: authd banner then TLS; or SYNs into a DROP rule.
  for (let i = count(1, 2); i > 0; i--) {
    const client = cp(P.v4);
    if (d("drop-esxi-902")) {
      push({
        kind: "esxi-902", transport: "tcp", client, server: { host: "esxm", ip: H.esxm.v4, port: 902 },
        protocol: "none", state: "S0", tls: null, outcome: "S0", cause: "drop-esxi-902",
        how: `test/lab/probe.py tcp --src ${client.ip} --src-port ${client.port} --dst ${H.esxm.v4} --dst-port 902 --timeout 1.2 (nft drop on the ESXi host)`,
        cmd: { argv: [PY, `${LAB}/probe.py`, "tcp", "--src", client.ip, "--src-port", String(client.port), "--dst", H.esxm.v4, "--dst-port", "902", "--timeout", "1.2"] },
        check: (r) => (r.stdout.trim() === "timeout" ? null : `probe: expected timeout, got ${r.stdout.trim()}`),
      });
    } else {
      push({
        kind: "esxi-902", transport: "tcp", client, server: { host: "esxm", ip: H.esxm.v4, port: 902 },
        protocol: "vmware-authd", state: "established", tls: tls("TLS 1.2", NAMES.esxm), outcome: "answered",
        facts: { authdBanner: true, sni: NAMES.esxm, certNames: [NAMES.esxm] },
        how: `test/lab/authd.py client --src ${client.ip} --src-port ${client.port} --dst ${H.esxm.v4} --sni ${NAMES.esxm}`,
        cmd: { argv: [PY, `${LAB}/authd.py`, "client", "--src", client.ip, "--src-port", String(client.port), "--dst", H.esxm.v4, "--sni", NAMES.esxm, "--timeout", "5"] },
        check: (r) => (r.stdout.includes("221 Goodbye") ? null : `authd client: ${r.stdout.trim()} ${r.stderr.trim()}`),
      });
    }
  }

  // 443 to the managed ESXi host (the standalone path).
  if (d("esxi-443-managed")) {
    for (let i = count(1, 2); i > 0; i--) {
      const client = cp(P.v4);
      const url = `https://${H.esxm.v4}/ok.txt`;
      push({
        kind: "esxi-443-managed", transport: "tcp", client, server: { host: "esxm", ip: H.esxm.v4, port: 443 },
        protocol: "tls", state: "established", tls: tls("TLS 1.3", null), outcome: "answered", cause: "esxi-443-managed",
        how: `curl -k --local-port ${client.port} ${url}`,
        cmd: { argv: [...curl, "-k", "--local-port", String(client.port), url] }, check: http200,
      });
    }
  }

  // Standalone ESXi 443, by address (no SNI).
  for (let i = count(1, 2); i > 0; i--) {
    const client = cp(P.v4);
    const url = `https://${H.esxs.v4}/ok.txt`;
    push({
      kind: "esxs-443", transport: "tcp", client, server: { host: "esxs", ip: H.esxs.v4, port: 443 },
      protocol: "tls", state: "established", tls: tls(tlsName(cfg.esxsTls), null), outcome: "answered",
      how: `curl -k --local-port ${client.port} ${url}`,
      cmd: { argv: [...curl, "-k", "--local-port", String(client.port), url] }, check: http200,
    });
  }

  // Standalone ESXi 902: the authd banner then TLS, or TLS from the first byte (tls-902-no-banner).
  for (let i = count(1, 2); i > 0; i--) {
    const client = cp(P.v4);
    if (d("tls-902-no-banner")) {
      const url = `https://${H.esxs.v4}:902/ok.txt`;
      push({
        kind: "esxs-902", transport: "tcp", client, server: { host: "esxs", ip: H.esxs.v4, port: 902 },
        protocol: "tls", state: "established", tls: tls(tlsName(cfg.esxsTls), null), outcome: "answered", cause: "tls-902-no-banner",
        how: `curl -k --local-port ${client.port} ${url} (openssl s_server on 902: no authd banner)`,
        cmd: { argv: [...curl, "-k", "--local-port", String(client.port), url] }, check: http200,
      });
    } else {
      push({
        kind: "esxs-902", transport: "tcp", client, server: { host: "esxs", ip: H.esxs.v4, port: 902 },
        protocol: "vmware-authd", state: "established", tls: tls("TLS 1.2", null), outcome: "answered",
        facts: { authdBanner: true, certNames: ["esxi-s.pnc-lab.test"] },
        how: `test/lab/authd.py client --src ${client.ip} --src-port ${client.port} --dst ${H.esxs.v4}`,
        cmd: { argv: [PY, `${LAB}/authd.py`, "client", "--src", client.ip, "--src-port", String(client.port), "--dst", H.esxs.v4, "--timeout", "5"] },
        check: (r) => (r.stdout.includes("221 Goodbye") ? null : `authd client: ${r.stdout.trim()} ${r.stderr.trim()}`),
      });
    }
  }
  // The managed ESXi host opens 902 towards the proxy, whose side answers like authd.
  if (d("proxy-answers-902")) {
    for (let i = count(1, 2); i > 0; i--) {
      const client = { host: "esxm", ip: H.esxm.v4, port: nextPort() };
      push({
        kind: "esxi-to-proxy-902", transport: "tcp", client, server: { host: "proxy", ip: P.v4, port: 902 },
        protocol: "vmware-authd", state: "established", tls: tls("TLS 1.2", null), outcome: "answered", cause: "proxy-answers-902",
        facts: { authdBanner: true, certNames: ["proxy.pnc-lab.test"] },
        how: `test/lab/authd.py client --src ${client.ip} --src-port ${client.port} --dst ${P.v4} (inside the managed ESXi host; test/lab/authd.py serve on the proxy)`,
        cmd: { ns: H.esxm.ns, argv: [PY, `${LAB}/authd.py`, "client", "--src", client.ip, "--src-port", String(client.port), "--dst", P.v4, "--timeout", "5"] },
        check: (r) => (r.stdout.includes("221 Goodbye") ? null : `authd client: ${r.stdout.trim()} ${r.stderr.trim()}`),
      });
    }
  }

  // Guests' 3542.
  for (const g of ["lin", "win"]) {
    const closed = d("closed-guest-3542") && choice.closedGuest === g;
    const old = d("tls10-guest-3542") && choice.tls10Guest === g;
    // Against a TLS 1.0-only server the proxy's client either allows TLS 1.0 (the handshake
    // completes in TLS 1.0) or does not: then the server still answers with a TLS 1.0 ServerHello
    // (it cannot know the client's minimum) and the client aborts with a fatal alert. Either way
    // the server chose TLS 1.0 on the wire.
    const strict = old && choice.tls10ClientStrict;
    const plain = d("plaintext-3542") && choice.plainGuest === g;
    for (let i = count(1, 2); i > 0; i--) {
      const client = cp(P.v4);
      const url = `https://${H[g].v4}:3542/ok.txt`;
      if (plain) {
        // The server spoke HTTP (its 400), the client TLS (findings.md: protocol, clientProtocol).
        push({
          kind: `guest-3542-${g}`, transport: "tcp", client, server: { host: g, ip: H[g].v4, port: 3542 },
          protocol: "http", clientProtocol: "tls", state: "established", tls: "unchecked", outcome: "answered", cause: "plaintext-3542",
          how: `curl -k --local-port ${client.port} ${url} (plain-HTTP nginx answers the ClientHello with HTTP 400)`,
          cmd: { argv: [...curl, "-k", "--local-port", String(client.port), url], allowFail: true },
          check: (r) => (r.status === 35 ? null : `curl to plain HTTP on 3542: expected exit 35 (TLS failed), got ${r.status} ${r.stderr.trim()}`),
        });
        continue;
      }
      const extra = old && !strict ? ["--tlsv1.0", "--ciphers", "DEFAULT:@SECLEVEL=0"] : [];
      push({
        kind: `guest-3542-${g}`, transport: "tcp", client, server: { host: g, ip: H[g].v4, port: 3542 },
        protocol: closed ? "none" : "tls", state: closed ? "REJ" : "established",
        tls: closed ? null : tls(old ? "TLS 1.0" : tlsName(cfg.guestTls[g]), null), outcome: closed ? "REJ" : "answered",
        cause: closed ? "closed-guest-3542" : old ? "tls10-guest-3542" : null,
        how: `curl -k${extra.length ? " " + extra.join(" ") : ""} --local-port ${client.port} ${url}${closed ? " (nothing listens)" : strict ? " (the client allows TLS 1.2 and 1.3 only: it aborts after the TLS 1.0 ServerHello)" : ""}`,
        cmd: { argv: [...curl, "-k", ...extra, "--local-port", String(client.port), url], allowFail: closed || strict },
        check: closed
          ? (r) => (r.status === 7 ? null : `curl to a closed port: expected exit 7, got ${r.status} ${r.stderr.trim()}`)
          : strict
            ? (r) => (r.status === 35 ? null : `curl to a TLS 1.0-only server: expected exit 35 (handshake failed), got ${r.status} ${r.stderr.trim()}`)
            : http200,
      });
    }
  }

  // SSH to the Linux guest (ssh-keyscan cannot bind a port: one-port ephemeral range).
  {
    const client = cp(P.v4);
    push({
      kind: "guest-22", transport: "tcp", client, server: { host: "lin", ip: H.lin.v4, port: 22 },
      protocol: "ssh", state: "established", tls: null, outcome: "answered",
      how: `ssh-keyscan -t ed25519 -T 5 ${H.lin.v4} (source port ${client.port} via ip_local_port_range)`,
      cmd: { argv: ["ssh-keyscan", "-t", "ed25519", "-T", "5", H.lin.v4], portRange: client.port },
      check: (r) => (r.stdout.includes("ssh-ed25519") ? null : `ssh-keyscan: ${r.stdout.trim()} ${r.stderr.trim()}`),
    });
  }
  // RDP to the Windows-like guest.
  {
    const client = cp(P.v4);
    push({
      kind: "guest-3389", transport: "tcp", client, server: { host: "win", ip: H.win.v4, port: 3389 },
      protocol: "rdp", state: "established", tls: tls("TLS 1.2", null), outcome: "answered",
      how: `test/lab/rdp_probe.py --src ${client.ip} --src-port ${client.port} --dst ${H.win.v4} --cookie pnc-lab`,
      cmd: { argv: [PY, `${LAB}/rdp_probe.py`, "--src", client.ip, "--src-port", String(client.port), "--dst", H.win.v4, "--cookie", "pnc-lab", "--timeout", "5"] },
      check: (r) => (/^tls TLSv1\.2/m.test(r.stdout) ? null : `rdp probe: ${r.stdout.trim()} ${r.stderr.trim()}`),
    });
  }
  // NTP.
  if (!d("missing-ntp")) {
    for (let i = count(1, 2); i > 0; i--) {
      const client = cp(P.v4);
      push({
        kind: "ntp-123", transport: "udp", client, server: { host: "ntp", ip: H.ntp.v4, port: 123 },
        protocol: "ntp", state: null, tls: null, outcome: "answered", facts: { ntpServerAnswered: true },
        how: `ntpdig -t 2 ${H.ntp.v4} (source port ${client.port} via ip_local_port_range; never sets a clock)`,
        cmd: { argv: ["ntpdig", "-t", "2", H.ntp.v4], portRange: client.port },
        check: (r) => (/ s8 /.test(r.stdout) ? null : `ntpdig: ${r.stdout.trim()} ${r.stderr.trim()}`),
      });
    }
  }
  // The cloud over IPv4 (curl, name from DNS) and IPv6 (openssl s_client).
  const cloud = !d("missing-cloud");
  for (let i = cloud ? count(1, 2) : 0; i > 0; i--) {
    const client = cp(P.v4);
    const url = `https://${NAMES.cloud}/ok.txt`;
    push({
      kind: "cloud-443", transport: "tcp", client, server: { host: "cloud", ip: H.cloud.v4, port: 443 },
      protocol: "tls", state: "established", tls: tls("TLS 1.3", NAMES.cloud), outcome: "answered", facts: { sni: NAMES.cloud },
      how: `curl -k --resolve ${NAMES.cloud}:443:${H.cloud.v4} --local-port ${client.port} ${url}`,
      cmd: { argv: [...curl, "-k", "--resolve", `${NAMES.cloud}:443:${H.cloud.v4}`, "--local-port", String(client.port), url] }, check: http200,
    });
  }
  if (cloud) {
    const client = cp(P.v6);
    push({
      kind: "cloud-443-v6", transport: "tcp", client, server: { host: "cloud", ip: H.cloud.v6, port: 443 },
      protocol: "tls", state: "established", tls: tls("TLS 1.3", NAMES.cloud6), outcome: "answered", facts: { sni: NAMES.cloud6 },
      how: `openssl s_client -connect [${H.cloud.v6}]:443 -servername ${NAMES.cloud6} -ign_eof (GET /ok.txt; source port ${client.port} via ip_local_port_range)`,
      cmd: { argv: ["openssl", "s_client", "-connect", `[${H.cloud.v6}]:443`, "-servername", NAMES.cloud6, "-ign_eof", "-quiet"], portRange: client.port, input: "GET /ok.txt HTTP/1.0\r\n\r\n" },
      check: (r) => (r.stdout.includes("200 ok") ? null : `s_client: ${r.stdout.trim().slice(0, 200)} ${r.stderr.trim().slice(0, 200)}`),
    });
  }
  if (d("proxy-vlan")) {
    for (let i = count(1, 2); i > 0; i--) {
      const client = cp(P.vlan);
      const url = `https://${NAMES.cloud}/ok.txt`;
      push({
        kind: "cloud-443-vlan", transport: "tcp", client, server: { host: "cloud", ip: H.cloud.vlan, port: 443 },
        protocol: "tls", state: "established", tls: tls("TLS 1.3", NAMES.cloud), outcome: "answered", facts: { sni: NAMES.cloud }, cause: "proxy-vlan",
        how: `curl -k --resolve ${NAMES.cloud}:443:${H.cloud.vlan} --local-port ${client.port} ${url} (from the proxy's VLAN ${cfg.vlanId} address)`,
        cmd: { argv: [...curl, "-k", "--resolve", `${NAMES.cloud}:443:${H.cloud.vlan}`, "--local-port", String(client.port), url] }, check: http200,
      });
    }
  }
  if (d("cloud-nonstandard-port")) {
    for (let i = count(1, 2); i > 0; i--) {
      const client = cp(P.v4);
      const url = `https://${NAMES.cloud}:8443/ok.txt`;
      push({
        kind: "cloud-8443", transport: "tcp", client, server: { host: "cloud", ip: H.cloud.v4, port: 8443 },
        protocol: "tls", state: "established", tls: tls("TLS 1.3", NAMES.cloud), outcome: "answered", facts: { sni: NAMES.cloud },
        cause: "cloud-nonstandard-port",
        how: `curl -k --resolve ${NAMES.cloud}:8443:${H.cloud.v4} --local-port ${client.port} ${url}`,
        cmd: { argv: [...curl, "-k", "--resolve", `${NAMES.cloud}:8443:${H.cloud.v4}`, "--local-port", String(client.port), url] }, check: http200,
      });
    }
  }
  if (d("stray-8080")) {
    const t = H[choice.strayHost];
    for (let i = count(1, 2); i > 0; i--) {
      const client = cp(P.v4);
      const url = `http://${t.v4}:8080/ok.txt`;
      push({
        kind: "stray-8080", transport: "tcp", client, server: { host: t.key, ip: t.v4, port: 8080 },
        protocol: "http", state: "established", tls: null, outcome: "answered", cause: "stray-8080",
        how: `curl --local-port ${client.port} ${url}`,
        cmd: { argv: [...curl, "--local-port", String(client.port), url] }, check: http200,
      });
    }
  }
  if (d("udp-unlisted")) {
    const t = H[choice.udpHost];
    for (let i = count(1, 2); i > 0; i--) {
      const client = cp(P.v4);
      const c = {
        kind: "udp-unlisted", transport: "udp", client, server: { host: t.key, ip: t.v4, port: choice.udpPort },
        protocol: "unknown", state: null, tls: null, outcome: choice.udpAnswered ? "answered" : "unreachable", cause: "udp-unlisted",
        how: `test/lab/probe.py udp --src ${client.ip} --src-port ${client.port} --dst ${t.v4} --dst-port ${choice.udpPort} (16 binary bytes; ${choice.udpAnswered ? "test/lab/udp_big.py answers" : "nothing listens"})`,
        cmd: { argv: [PY, `${LAB}/probe.py`, "udp", "--src", client.ip, "--src-port", String(client.port), "--dst", t.v4, "--dst-port", String(choice.udpPort), "--timeout", "1"] },
      };
      c.check = (r) => (choice.udpAnswered ? (r.stdout.trim() === "reply" ? null : `udp probe: expected reply, got ${r.stdout.trim()}`) : unreachableOrSilent(c, r));
      push(c);
    }
  }

  // Hosts the roles file does not name (issue 11: judged against every row they could be).
  if (d("weak-tls-unknown")) {
    for (let i = count(1, 2); i > 0; i--) {
      const client = cp(P.v4);
      const url = `https://${H.unk.v4}/ok.txt`;
      const extra = ["--tlsv1.1", "--ciphers", "DEFAULT:@SECLEVEL=0"];
      push({
        kind: "unknown-443-tls11", transport: "tcp", client, server: { host: "unk", ip: H.unk.v4, port: 443 },
        protocol: "tls", state: "established", tls: tls("TLS 1.1", null), outcome: "answered", cause: "weak-tls-unknown",
        facts: { certNames: ["host-u.pnc-lab.test"] },
        how: `curl -k ${extra.join(" ")} --local-port ${client.port} ${url}`,
        cmd: { argv: [...curl, "-k", ...extra, "--local-port", String(client.port), url] }, check: http200,
      });
    }
  }
  if (d("ssh-443-unknown")) {
    const client = cp(P.v4);
    push({
      kind: "unknown-443-ssh", transport: "tcp", client, server: { host: "unk", ip: H.unk.v4, port: 443 },
      protocol: "ssh", state: "established", tls: null, outcome: "answered", cause: "ssh-443-unknown",
      how: `ssh-keyscan -p 443 -t ed25519 -T 5 ${H.unk.v4} (source port ${client.port} via ip_local_port_range)`,
      cmd: { argv: ["ssh-keyscan", "-p", "443", "-t", "ed25519", "-T", "5", H.unk.v4], portRange: client.port },
      check: (r) => (r.stdout.includes("ssh-ed25519") ? null : `ssh-keyscan: ${r.stdout.trim()} ${r.stderr.trim()}`),
    });
  }
  if (d("ntp-refused-unknown")) {
    const client = cp(P.v4);
    const c = {
      kind: "unknown-123", transport: "udp", client, server: { host: "unk", ip: H.unk.v4, port: 123 },
      protocol: "ntp", state: null, tls: null, outcome: "unreachable", cause: "ntp-refused-unknown",
      how: `test/lab/probe.py udp --ntp --src ${client.ip} --src-port ${client.port} --dst ${H.unk.v4} --dst-port 123 (an NTP client request; nothing listens)`,
      cmd: { argv: [PY, `${LAB}/probe.py`, "udp", "--ntp", "--src", client.ip, "--src-port", String(client.port), "--dst", H.unk.v4, "--dst-port", "123", "--timeout", "1"] },
    };
    c.check = (r) => unreachableOrSilent(c, r);
    push(c);
  }

  for (const c of rng.shuffle(rest)) add(c);
  return convs;
}

/**
 * probe.py udp to a port where nothing listens: ICMP port unreachable back, or nothing when Linux
 * rate-limits ICMP errors; the outcome is what the client saw.
 */
function unreachableOrSilent(c, r) {
  const got = r.stdout.trim();
  if (got === "unreachable") return null;
  if (got === "timeout") {
    c.outcome = "unanswered";
    return null;
  }
  return `udp probe: ${got} ${r.stderr.trim()}`;
}

/** The 3545 conversation inside the Windows-like guest, on loopback (capture taken there). */
function planLoopback(H, nextPort) {
  const port = nextPort();
  const url = "https://127.0.0.1:3545/ok.txt";
  return [{
    kind: "guest-3545", transport: "tcp", ipVersion: 4, client: { host: "win", ip: "127.0.0.1", port }, server: { host: "win", ip: "127.0.0.1", port: 3545 },
    protocol: "tls", state: "established", tls: { clientVersion: "TLS 1.3", version: "TLS 1.3", sni: null }, outcome: "answered", cause: null, facts: {},
    how: `curl -k --local-port ${port} ${url} (inside the guest, to openssl s_server -accept 127.0.0.1:3545)`,
    cmd: { ns: H.win.ns, argv: ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "-k", "--local-port", String(port), url] },
    check: (r) => (r.stdout.trim() === "200" ? null : `3545: ${r.stdout} ${r.stderr}`),
  }];
}

// ---------------------------------------------------------------------------------------------
// Expectations

/**
 * What one capture shows of the lab's conversations (docs/lab.md, "Capture kinds"):
 * - full: everything (eth0, -i any, dumpcap; and the duplicated eth0 + any pair);
 * - one-direction: only the proxy's own packets (tcpdump -Q out): no server byte, so no banner,
 *   certificate, DNS answer, NTP answer or ServerHello, and every conversation `one-direction`;
 * - snaplen: 96 bytes per packet (tcpdump -s 96) of TLS on 443/3542 and NTP only: 30 bytes of TCP
 *   payload over IPv4 (14 Ethernet + 20 IPv4 + 32 TCP with timestamps), 10 over IPv6, so no SNI or
 *   certificate, and a TLS version only where the ServerHello's own version field gives it (TLS
 *   1.0 and 1.1; from 1.2 on the real version may be in supported_versions, cut off).
 */
export const SNAPLEN_FILTER = "tcp port 443 or tcp port 3542 or udp port 123";

/** The `--filter` of the `filtered` expectation (the README's own example), and the ports it passes. */
export const ANALYZE_FILTER = { text: "tcp port 443 or tcp port 902", ports: [["tcp", 443], ["tcp", 902]] };

function view(c, kind) {
  const v = { ...c, facts: { ...c.facts }, limits: [] };
  if (kind === "one-direction") {
    // Only the client's bytes when the proxy is the client (every conversation the lab makes in
    // the captures it records this way).
    v.facts = { sni: c.facts.sni ?? null, httpHost: c.facts.httpHost ?? null, httpPath: c.facts.httpPath ?? null };
    if (c.protocol === "vmware-authd") v.protocol = "tls"; // the client's first bytes are its ClientHello
    if (c.clientProtocol) v.protocol = c.clientProtocol;
    v.clientProtocol = undefined;
    v.tls = c.protocol === "rdp" ? "unchecked" : c.tls && c.tls !== "unchecked" ? { clientVersion: c.tls.clientVersion, version: null, sni: c.tls.sni } : c.tls;
    v.state = null; // no SYN-ACK seen: Zeek's state is not "established"
    if (c.transport !== "udp" || c.server.port !== 53) v.limits = ["one-direction"];
    return v;
  }
  if (kind === "snaplen") {
    v.facts = { ntpServerAnswered: c.facts.ntpServerAnswered ?? false };
    if (c.protocol === "tls") {
      const room = c.ipVersion === 4 ? 30 : 10; // TCP payload bytes kept
      // ServerHello: record header (5) + handshake header (4) + server_version (2) = 11 bytes.
      const shown = room >= 11 && c.tls.version !== null && ["SSL 3.0", "TLS 1.0", "TLS 1.1"].includes(c.tls.version);
      v.tls = shown ? { sni: null, version: c.tls.version } : { sni: null };
      if (!shown) v.limits = ["snaplen"];
    }
    return v;
  }
  return v;
}

function inSnaplenCapture(c) {
  return (c.transport === "tcp" && (c.server.port === 443 || c.server.port === 3542)) || (c.transport === "udp" && c.server.port === 123);
}

/** The expectation for one capture of these conversations: kind as in view(); capture flags for the judge. */
function expectations(allConvs, explicitRoles, macOf, kind = "full", flags = {}) {
  const passes = (c) => ANALYZE_FILTER.ports.some(([t, p]) => t === c.transport && (p === c.server.port || p === c.client.port));
  const convs = allConvs.filter((c) => (kind !== "snaplen" || inSnaplenCapture(c)) && (kind !== "filtered" || passes(c))).map((c) => view(c, kind));
  const capture = { oneDirection: kind === "one-direction", snaplen: kind === "snaplen", duplicate: !!flags.duplicate, filter: kind === "filtered" ? ANALYZE_FILTER.ports : null };
  const ips = new Set(convs.flatMap((c) => [c.client.ip, c.server.ip]));
  const given = new Map([...explicitRoles].filter(([ip]) => ips.has(ip)));
  const ex = inferRoles(convs, given, macOf);
  const inf = inferRoles(convs, new Map(), macOf);
  const exJ = judge(convs, ex, capture);
  const infJ = judge(convs, inf, capture);
  const rolesIn = (m, source) => [...ips].filter((ip) => m.roles.has(ip)).sort()
    .map((ip) => ({ ip, role: m.roles.get(ip), source: given.has(ip) && source === "explicit" ? "explicit" : "inferred" }));
  const conv = (c) => {
    const mode = (v) => ({ clientRole: v.clientRole, serverRole: v.serverRole, rule: v.rule, ruleAlternatives: v.ruleAlternatives, findings: v.findings, status: v.status, limits: v.limits });
    return {
      id: c.id, kind: c.kind, transport: c.transport, ipVersion: c.ipVersion, client: c.client, server: c.server,
      protocol: c.protocol, ...(c.clientProtocol !== undefined ? { clientProtocol: c.clientProtocol } : {}), state: c.state, tls: c.tls,
      outcome: c.outcome, cause: c.cause, explicit: mode(exJ.conversations.get(c.id)), inferred: mode(infJ.conversations.get(c.id)), how: c.how,
    };
  };
  const verdict = (j, m, source) => ({ roles: rolesIn(m, source), verdict: j.verdict, coverage: j.coverage, exitCode: j.exitCode, findings: j.findings });
  return {
    conversations: convs.map(conv),
    explicit: verdict(exJ, ex, "explicit"),
    inferred: { ...verdict(infJ, inf, "inferred"), unknown: [...ips].filter((ip) => !inf.roles.has(ip)).sort() },
  };
}

// ---------------------------------------------------------------------------------------------
// Captures

async function startCaptures(T, ns, base, kinds) {
  const caps = [];
  for (const k of kinds) {
    const file = `${base}${k.suffix}`;
    const logFile = `${T.dir}/${path.basename(file)}.log`;
    const argv = k.tool === "dumpcap"
      ? ["dumpcap", "-i", k.iface, "-q", "-B", "32", "-w", file]
      : ["tcpdump", "-i", k.iface, "-n", "-U", "--immediate-mode", "-B", "32768", "-Z", "root", ...(k.args ?? []), "-w", file, ...(k.filter ? [k.filter] : [])];
    const e = startProc(`capture ${path.basename(file)}`, ns, argv, logFile, { limit: 120 });
    caps.push({ ...k, file, entry: e, logFile });
  }
  for (const c of caps) {
    const text = c.tool === "dumpcap" ? "Capturing on" : "listening on";
    await waitFor(`${c.tool} to start`, () => {
      if (c.entry.exited) throw new Error(`${c.tool} exited: ${tail(c.logFile)}`);
      try {
        return fs.readFileSync(c.logFile, "utf8").includes(text);
      } catch {
        return false;
      }
    });
  }
  await sleep(100);
  return caps;
}

/** Stops the captures; returns what they lost (tcpdump's and dumpcap's own drop counters). */
async function stopCaptures(caps) {
  await sleep(300); // let the last packets reach the capture
  await Promise.all(caps.map((c) => stopProc(c.entry, 5000)));
  const lost = [];
  for (const c of caps) {
    fs.chmodSync(c.file, 0o644);
    const text = fs.existsSync(c.logFile) ? fs.readFileSync(c.logFile, "utf8") : "";
    const td = /(\d+) packets? dropped by kernel/.exec(text);
    const dc = /Packets received\/dropped on interface [^:]*: (\d+)\/(\d+)/.exec(text);
    if (td && Number(td[1]) > 0) lost.push(`${path.basename(c.file)}: tcpdump says ${td[1]} packets dropped by kernel`);
    if (dc && Number(dc[2]) > 0) lost.push(`${path.basename(c.file)}: dumpcap says ${dc[2]} packets dropped`);
  }
  return lost;
}

/** A capture that lost packets (the host was too busy): recorded again. */
class CaptureLoss extends Error {}

const PROXY_CAPTURES = [
  { suffix: ".pcap", tool: "tcpdump", iface: "eth0", format: "pcap", linkType: 1, recordedWith: "tcpdump -i eth0 -n -U --immediate-mode -B 32768 -w" },
  { suffix: ".pcapng", tool: "dumpcap", iface: "eth0", format: "pcapng", linkType: 1, recordedWith: "dumpcap -i eth0 -q -B 32 -w" },
  { suffix: ".any.pcap", tool: "tcpdump", iface: "any", format: "pcap", linkType: 276, recordedWith: "tcpdump -i any -n -U --immediate-mode -B 32768 -w" },
];

/**
 * Captures of the same traffic that show less of it (issue 12): recorded beside the three full
 * ones in these scenarios, each with its own expectation (docs/lab.md, "Capture kinds").
 */
const EXTRA_CAPTURES = {
  good: [{ suffix: ".out.pcap", tool: "tcpdump", iface: "eth0", args: ["-Q", "out"], kind: "one-direction", format: "pcap", linkType: 1, recordedWith: "tcpdump -i eth0 -Q out -n -U --immediate-mode -B 32768 -w" }],
  "tls10-guest-3542": [{ suffix: ".s96.pcap", tool: "tcpdump", iface: "eth0", args: ["-s", "96"], filter: SNAPLEN_FILTER, kind: "snaplen", format: "pcap", linkType: 1, recordedWith: "tcpdump -i eth0 -s 96 -n -U --immediate-mode -B 32768 -w" }],
};
/** The scenario whose eth0 and -i any captures are also given together, as one duplicated capture. */
const DUPLICATED = "drop-esxi-902";

/** tshark's view of the capture: every TCP/UDP packet must belong to a planned conversation. */
const HAVE_TSHARK = spawnSync("sh", ["-c", "command -v tshark"]).status === 0;

async function tsharkCheck(file, convs, counts = new Map()) {
  if (!HAVE_TSHARK) return [];
  const r = await runAsync(["tshark", "-r", file, "-n", "-Y", "(tcp || udp) && !icmp && !icmpv6", "-T", "fields", "-E", "separator=,",
    "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "udp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "udp.dstport"], { timeout: 60 });
  if (r.status !== 0) return [`${path.basename(file)}: tshark exited ${r.status}: ${r.stderr.trim().slice(0, 300)}`];
  const keys = new Map(convs.map((c) => [`${c.transport} ${c.client.ip}:${c.client.port} ${c.server.ip}:${c.server.port}`, 0]));
  const problems = [];
  for (const line of r.stdout.trim().split("\n").filter(Boolean)) {
    const [s4, s6, ts, us, d4, d6, td, ud] = line.split(",");
    const t = ts ? "tcp" : "udp";
    const a = `${s4 || s6}:${ts || us}`;
    const b = `${d4 || d6}:${td || ud}`;
    const k1 = `${t} ${a} ${b}`;
    const k2 = `${t} ${b} ${a}`;
    if (keys.has(k1)) keys.set(k1, keys.get(k1) + 1);
    else if (keys.has(k2)) keys.set(k2, keys.get(k2) + 1);
    else problems.push(`${path.basename(file)}: packet ${t} ${a} -> ${b} belongs to no planned conversation`);
  }
  for (const [k, n] of keys) {
    if (n === 0) problems.push(`${path.basename(file)}: planned conversation ${k} has no packet`);
    counts.set(k, n);
  }
  return [...new Set(problems)];
}

/**
 * tshark reads every capture: each packet belongs to a planned conversation, each planned
 * conversation has packets, and the three captures on the proxy hold the same packets (a
 * difference means one of them lost packets: CaptureLoss, recorded again).
 */
async function verifyCaptures(caps, convs, loCaps, loop, extraCaps = []) {
  // The three captures of the proxy must hold as many TCP/UDP packets each (tcpdump -i eth0,
  // dumpcap, tcpdump -i any see the same traffic on the proxy's one interface; a difference means
  // one lost packets). Counting is cheap; tshark then reads the first capture and the loopback one.
  const n = caps.map((c) => countTransport(c.file));
  if (n.some((x) => x !== n[0])) throw new CaptureLoss(caps.map((c, i) => `${path.basename(c.file)}: ${n[i]} TCP/UDP packets`).join(", "));
  // The partial captures hold fewer packets, never none and never more.
  for (const c of extraCaps) {
    const m = countTransport(c.file);
    if (m === 0 || m >= n[0]) throw new Error(`${path.basename(c.file)}: ${m} TCP/UDP packets, expected some and fewer than the full capture's ${n[0]}`);
  }
  const problems = (await Promise.all([tsharkCheck(caps[0].file, convs), ...loCaps.map((c) => tsharkCheck(c.file, loop))])).flat();
  if (problems.length) throw new Error(`tshark does not see what the lab did:\n  ${problems.join("\n  ")}`);
}

/**
 * TCP and UDP packets in a pcap or pcapng capture of link type Ethernet (1) or Linux SLL2 (276).
 * Only those: ARP and neighbour discovery come and go on their own timers, so captures stopped a
 * few milliseconds apart may differ in them without having lost anything.
 */
export function countTransport(file) {
  const b = fs.readFileSync(file);
  let n = 0;
  const packet = (linkType, off, caplen) => {
    // Ethernet: EtherType at 12 (IEEE 802.3); SLL2: protocol type at 0, 20-byte header
    // (LINKTYPE_LINUX_SLL2 definition).
    let et;
    let ip;
    if (linkType === 1) [et, ip] = [b.readUInt16BE(off + 12), off + 14];
    else if (linkType === 276) [et, ip] = [b.readUInt16BE(off), off + 20];
    else return;
    if (linkType === 1 && et === 0x8100) [et, ip] = [b.readUInt16BE(off + 16), off + 18]; // IEEE 802.1Q: TPID, TCI, then the EtherType
    if (ip + 40 > off + caplen) return;
    const proto = et === 0x0800 ? b[ip + 9] : et === 0x86dd ? b[ip + 6] : -1; // IPv4 protocol (RFC 791), IPv6 next header (RFC 8200)
    if (proto === 6 || proto === 17) n++;
  };
  const magic = b.readUInt32LE(0);
  if (magic === 0x0a0d0d0a) {
    // pcapng (draft-ietf-opsawg-pcapng): blocks (type, total length, body, total length); the
    // SHB's byte-order magic; IDBs give each interface's link type; EPBs carry packets (data at 28).
    let off = 0;
    let le = true;
    const ifaces = [];
    while (off + 12 <= b.length) {
      if (b.readUInt32LE(off) === 0x0a0d0d0a) {
        le = b.readUInt32LE(off + 8) === 0x1a2b3c4d;
        ifaces.length = 0;
      }
      const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
      const type = u32(off);
      const len = u32(off + 4);
      if (len < 12 || off + len > b.length) break;
      if (type === 1) ifaces.push(le ? b.readUInt16LE(off + 8) : b.readUInt16BE(off + 8));
      if (type === 6) packet(ifaces[u32(off + 8)], off + 28, u32(off + 20));
      off += len;
    }
    return n;
  }
  // pcap: 24-byte header (link type at 20), 16-byte record headers (captured length at +8).
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  for (let off = 24; off + 16 <= b.length; ) {
    const caplen = u32(off + 8);
    packet(linkType, off + 16, caplen);
    off += 16 + caplen;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// One lab run

function versions() {
  const v = (argv) => {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 5000 });
    return ((r.stdout || "") + (r.stderr || "")).trim().split("\n")[0];
  };
  const pk = spawnSync("dpkg-query", ["-W", "-f=${Package} ${Version}\n", "iproute2", "ethtool", "nftables", "tcpdump", "tshark", "wireshark-common",
    "libpcap0.8", "openssl", "nginx-light", "openssh-server", "openssh-client", "chrony", "dnsmasq-base", "xrdp", "curl", "bind9-dnsutils",
    "ntpsec-ntpdig", "python3"], { encoding: "utf8", timeout: 5000 });
  return {
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    openssl: v(["openssl", "version"]),
    python: v([PY, "--version"]),
    debianPackages: (pk.stdout || "").trim().split("\n").filter(Boolean),
  };
}

export const REQUIRED_BINARIES = ["ip", "ss", "ethtool", "nft", "tcpdump", "dumpcap", "openssl", "nginx", "/usr/sbin/sshd", "ssh-keygen", "ssh-keyscan",
  "chronyd", "dnsmasq", "xrdp", "ntpdig", "dig", "curl", "timeout", "python3"];

export function missingBinaries() {
  return REQUIRED_BINARIES.filter((b) => spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0);
}

function prepareFiles(T, H, cfg) {
  fs.mkdirSync(T.www, { recursive: true });
  fs.writeFileSync(`${T.www}/ok.txt`, "ok\n");
  fs.writeFileSync(`${T.www}/index.html`, "phoenix-netcheck lab\n");
  const cert = (name, cn, ip) => {
    run_(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
      "-keyout", `${T.dir}/${name}.key`, "-out", `${T.dir}/${name}.crt`, "-subj", `/O=phoenix-netcheck lab/CN=${cn}`,
      "-addext", `subjectAltName=DNS:${cn}${ip ? `,IP:${ip}` : ""}${name === "cloud" ? ",DNS:*.druva.com" : ""}`]);
  };
  const run_ = (argv) => run(argv, { timeout: 20 });
  cert("cloud", NAMES.cloud, H.cloud.v4);
  cert("vcenter", NAMES.vcenter, H.vcenter.v4);
  cert("esxm", NAMES.esxm, H.esxm.v4);
  cert("esxs", "esxi-s.pnc-lab.test", H.esxs.v4);
  cert("lin", "guest-lin.pnc-lab.test", H.lin.v4);
  cert("win", "guest-win.pnc-lab.test", H.win.v4);
  cert("proxy", "proxy.pnc-lab.test", H.proxy.v4);
  cert("unk", "host-u.pnc-lab.test", H.unk.v4);
  // nginx: the same server, with TLS (SNI name) or plain HTTP on 443.
  const nx = `${T.dir}/nginx`;
  fs.mkdirSync(`${nx}/body`, { recursive: true });
  const conf = (listen, extra) => `worker_processes 1;
pid ${nx}/nginx.pid;
error_log ${nx}/error.log;
events { worker_connections 64; }
http {
    access_log off;
    default_type text/plain;
    client_body_temp_path ${nx}/body;
    proxy_temp_path ${nx}/body;
    fastcgi_temp_path ${nx}/body;
    uwsgi_temp_path ${nx}/body;
    scgi_temp_path ${nx}/body;
${extra}
    server {
        listen ${listen};
        server_name ${NAMES.vcenter};
        location / { return 200 "vcenter\\n"; }
    }
}
`;
  fs.writeFileSync(`${nx}/tls.conf`, conf(`${H.vcenter.v4}:443 ssl`, `    ssl_protocols ${cfg.vcTls === "1.2" ? "TLSv1.2" : "TLSv1.2 TLSv1.3"};
    ssl_certificate ${T.dir}/vcenter.crt;
    ssl_certificate_key ${T.dir}/vcenter.key;`));
  fs.writeFileSync(`${nx}/plain.conf`, conf(`${H.vcenter.v4}:443`, ""));
  // A guest's 3542 served by plain-HTTP nginx (plaintext-3542): a ClientHello is not a request
  // line, so nginx answers "HTTP/1.1 400 Bad Request" in clear and closes.
  for (const g of ["lin", "win"]) {
    fs.writeFileSync(`${nx}/plain3542-${g}.conf`, `worker_processes 1;
pid ${nx}/plain3542-${g}.pid;
error_log ${nx}/error3542.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path ${nx}/body;
    proxy_temp_path ${nx}/body;
    fastcgi_temp_path ${nx}/body;
    uwsgi_temp_path ${nx}/body;
    scgi_temp_path ${nx}/body;
    server { listen ${H[g].v4}:3542; location / { return 200 "guest\\n"; } }
}
`);
  }
  // sshd: own host key and config.
  run_(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pnc-lab", "-f", `${T.dir}/ssh_host_ed25519_key`]);
  fs.writeFileSync(`${T.dir}/sshd_config`, `Port 22
ListenAddress ${H.lin.v4}
HostKey ${T.dir}/ssh_host_ed25519_key
PidFile ${T.dir}/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
`);
  // The same sshd on 443 of the host of no role (ssh-443-unknown).
  fs.writeFileSync(`${T.dir}/sshd443_config`, fs.readFileSync(`${T.dir}/sshd_config`, "utf8")
    .replace("Port 22", "Port 443").replace(`ListenAddress ${H.lin.v4}`, `ListenAddress ${H.unk.v4}`).replace(`${T.dir}/sshd.pid`, `${T.dir}/sshd443.pid`));
  fs.writeFileSync(`${T.dir}/xrdp.ini`, `[Globals]
ini_version=1
fork=false
port=3389
use_vsock=false
tcp_nodelay=true
tcp_keepalive=false
security_layer=negotiate
crypt_level=high
certificate=${T.dir}/win.crt
key_file=${T.dir}/win.key
ssl_protocols=TLSv1.2
[Logging]
LogFile=${T.dir}/xrdp.logfile
LogLevel=INFO
EnableSyslog=false
EnableConsole=true
[Channels]
`);
  fs.writeFileSync(`${T.dir}/chrony.conf`, `# Serve our own clock at stratum 8; never adjust it (-x on the command line).
local stratum 8
allow 10.66.0.0/24
bindaddress ${H.ntp.v4}
port 123
cmdport 0
bindcmdaddress /
pidfile ${T.dir}/chronyd.pid
driftfile ${T.dir}/chrony.drift
`);
}

class Lab {
  constructor(o) {
    this.o = o;
    this.prefix = `pnc-lab-${process.pid}`;
    this.running = new Map(); // key -> { spec, entry }
    this.madeRunSshd = false;
    this.T = null;
  }

  async setup() {
    const rng = prng(this.o.seed);
    this.rng = rng;
    this.H = assignAddresses(rng, this.prefix);
    const H = this.H;
    // Choices that hold for the whole run (servers that stay up from one capture to the next).
    this.run = {
      vcTls: rng.pick(["1.2", "1.3"]),
      esxsTls: rng.pick(["1.2", "1.3"]),
      guestTls: { lin: rng.pick(["1.2", "1.3"]), win: rng.pick(["1.2", "1.3"]) },
      once: this.o.once,
      vlanId: rng.int(100, 4000),
    };
    this.portNext = rng.int(40000, 52000);
    this.T = { dir: fs.mkdtempSync(path.join(os.tmpdir(), "pnc-lab.")) };
    fs.chmodSync(this.T.dir, 0o755);
    this.T.www = `${this.T.dir}/www`;
    prepareFiles(this.T, H, this.run);
    if (!fs.existsSync("/run/sshd")) {
      fs.mkdirSync("/run/sshd", { mode: 0o755 }); // sshd's privilege-separation directory
      this.madeRunSshd = true;
    }
    const br = `${this.prefix}-br`;
    const lines = [`lab_bridge_create ${br}`];
    for (const h of Object.values(H)) lines.push(`lab_host_add ${h.ns} ${br} ${h.v4}/24 ${h.v6 ? `${h.v6}/64` : '""'}`);
    // The VLAN sub-interfaces of the proxy and the cloud (proxy-vlan): eth0v with the VLAN
    // address and eth0's MAC, its veth peer in a namespace of its own where vlan_relay.py tags
    // and untags (the kernel may lack 802.1Q: `ip link add … type vlan` is not used).
    for (const h of [H.proxy, H.cloud]) lines.push(`lab_vlan_add ${h.ns} ${h.ns}-vl ${h.vlan}/24`);
    netns(lines.join("\n"));
    // Each host's MAC (its eth0): the proxy's other addresses share its MAC (roles.md, proxy).
    const mac = new Map();
    for (const h of Object.values(H)) {
      const link = JSON.parse(run(["ip", "-n", h.ns, "-j", "link", "show", "eth0"]).stdout)[0];
      h.mac = link.address;
      mac.set(h.v4, h.mac);
      if (h.v6) mac.set(h.v6, h.mac);
      if (h.vlan) mac.set(h.vlan, h.mac); // a sub-interface has its parent's MAC
    }
    this.macOf = (ip) => mac.get(ip) ?? null;
    this.roles = rolesFile(H);
    this.explicitRoles = new Map();
    for (const [role, list] of Object.entries(this.roles.roles)) for (const ip of list) this.explicitRoles.set(ip, role);
  }

  nextPort() {
    this.portNext += this.rng.int(1, 3);
    return this.portNext;
  }

  async reconcile(specs) {
    for (const [key, cur] of [...this.running]) {
      const want = specs.get(key);
      if (want && want.sig === cur.spec.sig && want.ns === cur.spec.ns) continue;
      if (cur.spec.firewall) run(["ip", "netns", "exec", cur.spec.ns, "nft", "delete", "table", "inet", "pnc_lab"], { allowFail: true });
      else await stopProc(cur.entry);
      this.running.delete(key);
    }
    const waits = [];
    for (const [key, spec] of specs) {
      if (this.running.has(key)) continue;
      if (spec.firewall) {
        run(["ip", "netns", "exec", spec.ns, "nft", "-f", "-"], {
          input: `table inet pnc_lab {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ${spec.firewall}\n  }\n}\n`,
        });
        this.running.set(key, { spec, entry: null });
        continue;
      }
      const logFile = `${this.T.dir}/${key}.log`;
      const entry = startProc(key, spec.ns, spec.argv, logFile, { cwd: spec.cwd });
      this.running.set(key, { spec, entry });
      for (const [proto, port] of spec.listen) waits.push(() => waitListen(spec.ns, proto, port, entry, logFile));
      if (spec.ready) {
        waits.push(() => waitFor(`${key} to be ready`, () => {
          if (entry.exited) throw new Error(`${key} exited: ${tail(logFile)}`);
          return fs.existsSync(logFile) && fs.readFileSync(logFile, "utf8").includes(spec.ready);
        }));
      }
    }
    for (const w of waits) await w();
  }

  /** One capture, recorded again (at most twice) when a capture tool lost packets. */
  async capture(name, deltas, outDir) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.captureOnce(name, deltas, outDir);
      } catch (e) {
        if (!(e instanceof CaptureLoss) || attempt >= 3) throw e;
        console.error(`lab: ${name}: a capture lost packets (${e.message}); recording it again`);
      }
    }
  }

  /** One capture: the wanted servers, the conversations, expectations beside the files. */
  async captureOnce(name, deltas, outDir) {
    const rng = this.rng;
    const H = this.H;
    const guests = rng.shuffle(["lin", "win"]);
    const choice = {
      tls10Guest: guests[0],
      closedGuest: deltas.includes("tls10-guest-3542") ? guests[1] : guests[0],
      strayHost: rng.pick(["vcenter", "esxs", "lin", "cloud"]),
      udpHost: rng.pick(["vcenter", "esxs", "lin", "win", "cloud"]),
      udpPort: rng.pick([rng.int(20000, 29999), 5000 + rng.int(0, 99), 17500]),
      udpAnswered: rng.next() < 0.5,
      tls10ClientStrict: rng.next() < 0.5,
      plainGuest: guests[1],
      vcEvidence: rng.pick(["sni", "certificate", "dns"]),
    };
    const convs = planConversations(H, this.run, deltas, choice, rng, () => this.nextPort());
    convs.forEach((c, i) => {
      c.id = `${c.kind}#${i + 1}`;
    });
    const loop = deltas.length === 0 ? planLoopback(H, () => this.nextPort()) : [];
    loop.forEach((c) => {
      c.id = `${c.kind}#1`;
    });

    const specs = serverSpecs(H, this.T, this.run, deltas, choice);
    if (loop.length) {
      specs.set("win3545", {
        ns: H.win.ns, sig: "s_server lo 3545", listen: [["tcp", 3545]], cwd: this.T.www,
        argv: ["openssl", "s_server", "-WWW", "-accept", "127.0.0.1:3545", "-cert", `${this.T.dir}/win.crt`, "-key", `${this.T.dir}/win.key`, "-quiet"],
        what: "openssl s_server -WWW -accept 127.0.0.1:3545",
      });
    }
    const tm = [Date.now()];
    await this.reconcile(specs);
    tm.push(Date.now());

    const base = path.join(outDir, name);
    const single = deltas.length === 0 ? "good" : deltas.length === 1 ? deltas[0] : null;
    const caps = await startCaptures(this.T, H.proxy.ns, base, single === "proxy-vlan" ? PROXY_CAPTURES.slice(0, 2) : PROXY_CAPTURES);
    const extraCaps = await startCaptures(this.T, H.proxy.ns, base, EXTRA_CAPTURES[single] ?? []);
    const loCaps = loop.length ? await startCaptures(this.T, H.win.ns, `${base}.guest-lo`, [{ suffix: ".pcap", tool: "tcpdump", iface: "lo", format: "pcap", linkType: 1, recordedWith: "tcpdump -i lo -n -U --immediate-mode -B 32768 -w" }]) : [];
    tm.push(Date.now());
    const failures = [];
    let lost = [];
    try {
      const one = async (c) => {
        const ns = c.cmd.ns ?? H.proxy.ns;
        if (c.cmd.portRange) run(["ip", "netns", "exec", ns, "sysctl", "-qw", `net.ipv4.ip_local_port_range=${c.cmd.portRange} ${c.cmd.portRange}`]);
        const r = await nsRunAsync(ns, c.cmd.argv, { input: c.cmd.input, timeout: 10 });
        const bad = r.status !== 0 && !c.cmd.allowFail ? `exit ${r.status}: ${(r.stderr || r.stdout).trim().slice(0, 300)}` : c.check(r);
        if (bad) failures.push(`${name}: ${c.id}: ${bad}`);
      };
      // The DNS lookups first (the names the rest use), then the rest in LANES lanes, each lane
      // in the planned order. Clients whose source port is set through the namespace's one-port
      // ephemeral range (ssh-keyscan, ntpdig, s_client) share one lane so they never overlap.
      const lanes = Array.from({ length: LANES }, () => []);
      let k = 0;
      for (const c of [...convs, ...loop]) {
        if (c.kind === "dns") await one(c);
        else if (c.cmd.portRange) lanes[0].push(c);
        else lanes[1 + (k++ % (LANES - 1))].push(c);
      }
      await Promise.all(lanes.map(async (lane) => {
        for (const c of lane) await one(c);
      }));
    } finally {
      tm.push(Date.now());
      lost = await stopCaptures([...caps, ...extraCaps, ...loCaps]);
      tm.push(Date.now());
    }
    if (failures.length) throw new Error(`the lab's own clients failed:\n  ${failures.join("\n  ")}`);
    if (lost.length) throw new CaptureLoss(lost.join("; "));

    // Checked in the background while the next capture records.
    const verify = verifyCaptures(caps, convs, loCaps, loop, extraCaps);
    verify.catch(() => {}); // awaited by the caller; this only keeps Node from calling it unhandled
    const scenario = deltas.length === 0 ? "good" : deltas.length === 1 ? deltas[0] : "combined";
    const serversText = [...specs.entries()].map(([k, s]) => `${k}: ${s.what}${s.firewall ? "" : ` in ${s.ns}`}`);
    const common = {
      schema: "phoenix-netcheck.lab-expected/v1",
      scenario,
      misconfigurations: deltas,
      seed: this.o.seed,
      rolesFile: "roles.json",
      hosts: Object.fromEntries(Object.values(H).map((h) => [h.key, { role: h.role, ipv4: h.v4, ipv6: h.v6, namespace: h.ns }])),
    };
    const desc = deltas.length === 0 ? SCENARIOS.good : deltas.map((x) => SCENARIOS[x]).join(" ");
    const main = {
      ...common,
      description: desc,
      capture: "full",
      files: caps.map((c) => ({ file: path.basename(c.file), format: c.format, linkType: c.linkType, recordedWith: `${c.recordedWith} ${path.basename(c.file)}` })),
      capturedOn: `the proxy's eth0 (and -i any) in namespace ${H.proxy.ns}`,
      servers: serversText,
      choices: { ...this.run, ...choice },
      ...expectations(convs, this.explicitRoles, this.macOf),
    };
    if (process.env.PNC_LAB_TIMING) console.error(`${name}: servers ${tm[1] - tm[0]} ms, capture start ${tm[2] - tm[1]}, clients ${tm[3] - tm[2]}, stop ${tm[4] - tm[3]}`);
    fs.writeFileSync(`${base}.expected.json`, JSON.stringify(main, null, 2) + "\n");
    const written = [`${base}.expected.json`];
    if (loop.length) {
      const lo = {
        ...common,
        scenario: "guest-loopback-3545",
        description: "Inside the Windows-like guest: its plugin's TLS connection to the guest service on 127.0.0.1:3545, captured on the guest's loopback.",
        files: loCaps.map((c) => ({ file: path.basename(c.file), format: c.format, linkType: c.linkType, recordedWith: `${c.recordedWith} ${path.basename(c.file)}` })),
        capturedOn: `lo in namespace ${H.win.ns} (the Windows-like guest)`,
        servers: ["win3545: openssl s_server -WWW -accept 127.0.0.1:3545"],
        ...expectations(loop, this.explicitRoles, this.macOf),
      };
      fs.writeFileSync(`${base}.guest-lo.expected.json`, JSON.stringify(lo, null, 2) + "\n");
      written.push(`${base}.guest-lo.expected.json`);
    }
    const fileOf = (c) => ({ file: path.basename(c.file), format: c.format, linkType: c.linkType, recordedWith: `${c.recordedWith} ${path.basename(c.file)}${c.filter ? ` '${c.filter}'` : ""}` });
    for (const x of extraCaps) {
      const e = {
        ...main, capture: x.kind, description: `${desc} Recorded ${x.kind === "one-direction" ? "with only the proxy's outgoing packets (tcpdump -Q out), as a one-direction SPAN port shows it" : `with a snap length of 96 bytes, TLS on 443/3542 and NTP only (${SNAPLEN_FILTER})`}.`,
        files: [fileOf(x)], ...expectations(convs, this.explicitRoles, this.macOf, x.kind),
      };
      fs.writeFileSync(`${base}.${x.kind}.expected.json`, JSON.stringify(e, null, 2) + "\n");
      written.push(`${base}.${x.kind}.expected.json`);
    }
    if (single === "good") {
      // The good traffic analyzed with --filter: rows the filter excludes are not missing.
      const e = {
        ...main, capture: "filtered", analyze: { filter: ANALYZE_FILTER.text },
        description: `${desc} Analyzed with --filter '${ANALYZE_FILTER.text}': NTP, the guests' rows and DNS are filtered out, and not missing.`,
        files: [fileOf(caps[0])], ...expectations(convs, this.explicitRoles, this.macOf, "filtered"),
      };
      fs.writeFileSync(`${base}.filtered.expected.json`, JSON.stringify(e, null, 2) + "\n");
      written.push(`${base}.filtered.expected.json`);
    }
    if (single === DUPLICATED) {
      const e = {
        ...main, capture: "duplicate", together: true,
        description: `${desc} The eth0 capture and the -i any capture of the same traffic, given together to one analyze: every conversation counted once.`,
        files: [fileOf(caps[0]), fileOf(caps[2])], ...expectations(convs, this.explicitRoles, this.macOf, "full", { duplicate: true }),
      };
      fs.writeFileSync(`${base}.duplicate.expected.json`, JSON.stringify(e, null, 2) + "\n");
      written.push(`${base}.duplicate.expected.json`);
    }
    return { written, verify };
  }

  async teardown() {
    for (const [key, cur] of [...this.running]) {
      if (!cur.spec.firewall) await stopProc(cur.entry);
      this.running.delete(key);
    }
    for (const e of [...started.values()]) await stopProc(e);
    teardownSync(this);
  }
}

/** Synchronous last resort (also used from signal and exit handlers). */
function teardownSync(lab) {
  // TERM first: each PID is a `timeout`, which passes TERM on to its server (a KILL would orphan
  // the server). Then up to 3 s for them to go, then KILL what is left.
  // Alive: not gone and not a zombie (Node reaps its children only from its event loop, which
  // does not run here).
  const alive = (pid) => {
    try {
      return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
      return false;
    }
  };
  const pids = [...started.values()].filter((e) => !e.exited).map((e) => e.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* gone */
    }
  }
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 60 && pids.some(alive); i++) Atomics.wait(nap, 0, 0, 50);
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  started.clear();
  if (!lab) return;
  spawnSync("bash", ["-c", `. "${LAB}/netns.sh"; lab_teardown ${lab.prefix}`], { timeout: 60000 });
  if (lab.madeRunSshd) {
    // Leave it to another lab, recording or probe lab still running (they share /run/sshd).
    const others = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.split("\n").filter((l) => /^pnc-(lab|rec|probe)-/.test(l));
    if (others.length === 0) fs.rmSync("/run/sshd", { recursive: true, force: true });
    lab.madeRunSshd = false;
  }
  if (lab.T && !process.env.PNC_LAB_KEEP_TMP) fs.rmSync(lab.T.dir, { recursive: true, force: true });
  lab.T = null;
}

// ---------------------------------------------------------------------------------------------
// Checking the analyzer (--check): `node dist/cli/main.js analyze` on every capture, compared.

async function checkAll(outDir, written) {
  const { compareReport } = await import("./compare.mjs");
  const { splitKnown } = await import("./known-mismatches.mjs");
  const main = path.join(ROOT, "dist/cli/main.js");
  if (!fs.existsSync(main)) throw new Error("dist/cli/main.js is missing: run npm run build first");
  const all = [];
  for (const expFile of written) {
    const exp = JSON.parse(fs.readFileSync(expFile, "utf8"));
    // A duplicated capture is its files given together to one analyze; otherwise each file alone.
    const runs = exp.together ? [exp.files.map((f) => f.file)] : exp.files.map((f) => [f.file]);
    for (const files of runs) {
      const label = `${files.join("+")}${exp.analyze?.filter ? ` --filter '${exp.analyze.filter}'` : ""}`;
      for (const mode of ["explicit", "inferred"]) {
        const argv = [main, "analyze", ...files.map((f) => path.join(outDir, f)), "--format", "json", ...(mode === "explicit" ? ["--roles", path.join(outDir, exp.rolesFile)] : []),
          ...(exp.analyze?.filter ? ["--filter", exp.analyze.filter] : [])];
        const r = spawnSync(process.execPath, argv, { encoding: "utf8", timeout: 60000, maxBuffer: 64 << 20 });
        if (r.status !== 0 && r.status !== 1 && r.status !== 3) {
          all.push(`${label} [${mode}]: analyze exited ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
          continue;
        }
        let report;
        try {
          report = JSON.parse(r.stdout);
        } catch (e) {
          all.push(`${label} [${mode}]: analyze wrote no JSON report (exit ${r.status}, ${r.stdout.length} bytes, ${r.error?.message ?? ""}): ${r.stderr.trim().slice(0, 300)}`);
          continue;
        }
        const { known, unknown, stale } = splitKnown(exp.scenario, mode, compareReport(exp, report, mode, r.status));
        for (const k of known) console.log(`KNOWN ${k.id}: ${label} [${mode}] ${k.line}`);
        for (const m of unknown) all.push(`${label} [${mode}]: ${m}`);
        for (const id of stale) all.push(`${label} [${mode}]: known mismatch ${id} no longer occurs: remove it from test/lab/known-mismatches.mjs`);
      }
    }
  }
  return all;
}

// ---------------------------------------------------------------------------------------------

export async function main(argv) {
  const o = parseArgs(argv);
  QUIET = o.quiet;
  if (o.help) {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1, 17).map((l) => l.replace(/^\/\/ ?/, "")).join("\n"));
    return 0;
  }
  if (o.list) {
    for (const [k, v] of Object.entries(SCENARIOS)) console.log(`${k}\n    ${v}`);
    return 0;
  }
  if (process.getuid && process.getuid() !== 0) throw new Error("the lab needs root (network namespaces, tcpdump, ports below 1024)");
  if (o.cleanup) {
    const list = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith("pnc-lab-"));
    const prefixes = [...new Set(list.map((n) => n.split("-").slice(0, 3).join("-")))];
    for (const p of prefixes) netns(`lab_teardown ${p}`);
    console.log(`removed ${list.length} namespaces (${prefixes.join(", ") || "none"})`);
    return 0;
  }
  const missing = missingBinaries();
  if (missing.length) throw new Error(`missing ${missing.join(", ")} (see docs/lab.md for the Debian packages)`);

  const rng = prng(o.seed ^ 0x5eed);
  let captures;
  if (o.combine) {
    const deltas = o.combine.split(",").filter((x) => x && x !== "good");
    for (const x of deltas) if (!SCENARIOS[x]) throw new Error(`unknown scenario ${x}`);
    captures = [{ name: o.name || "combined", deltas }];
  } else {
    let names = o.scenarios === "all" ? Object.keys(SCENARIOS) : o.scenarios.split(",").filter(Boolean);
    for (const x of names) if (!SCENARIOS[x]) throw new Error(`unknown scenario ${x} (see --list)`);
    names = rng.shuffle(names);
    if (o.pick > 0) names = names.slice(0, o.pick);
    captures = names.map((n) => ({ name: n, deltas: n === "good" ? [] : [n] }));
  }

  const outDir = path.resolve(o.out ?? fs.mkdtempSync(path.join(os.tmpdir(), `pnc-lab-out-s${o.seed}.`)));
  fs.mkdirSync(outDir, { recursive: true });
  const lab = new Lab(o);
  const onSignal = (sig) => {
    console.error(`lab: ${sig}: removing what the run made`);
    teardownSync(lab);
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("exit", () => teardownSync(lab));
  // A bound on the whole run: nothing the lab does should take this long.
  const deadline = setTimeout(() => {
    console.error("lab: took longer than 300 s; giving up");
    teardownSync(lab);
    process.exit(3);
  }, 300_000);
  deadline.unref();

  const t0 = Date.now();
  const written = [];
  try {
    await lab.setup();
    fs.writeFileSync(path.join(outDir, "roles.json"), JSON.stringify(lab.roles, null, 2) + "\n");
    log(`lab: seed ${o.seed}, namespaces ${lab.prefix}-*, output ${outDir}`);
    let pending = [];
    const record = async (c) => {
      const t = Date.now();
      const r = await lab.capture(c.name, c.deltas, outDir);
      for (const w of r.written) if (!written.includes(w)) written.push(w);
      pending.push({ c, verify: r.verify });
      log(`  ${c.name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    };
    for (const c of captures) await record(c);
    // The tshark checks ran in the background; a capture that lost packets is recorded again
    // (at most twice), anything else stops the run.
    for (let round = 0; pending.length; round++) {
      const results = await Promise.allSettled(pending.map((p) => p.verify));
      const again = [];
      results.forEach((r, i) => {
        if (r.status === "fulfilled") return;
        if (!(r.reason instanceof CaptureLoss) || round >= 2) throw r.reason;
        console.error(`lab: ${pending[i].c.name}: a capture lost packets (${r.reason.message}); recording it again`);
        again.push(pending[i].c);
      });
      pending = [];
      for (const c of again) await record(c);
    }
    fs.writeFileSync(path.join(outDir, "lab.json"), JSON.stringify({
      schema: "phoenix-netcheck.lab-run/v1", seed: o.seed, date: new Date().toISOString(), captures: captures.map((c) => c.name),
      expected: written.map((w) => path.basename(w)), hosts: lab.H, choices: lab.run, seconds: (Date.now() - t0) / 1000, versions: versions(),
    }, null, 2) + "\n");
  } finally {
    await lab.teardown();
  }
  log(`lab: recorded ${captures.length} capture(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (o.check) {
    const mism = await checkAll(outDir, written);
    for (const m of mism) console.log(`MISMATCH ${m}`);
    log(`lab: ${mism.length} mismatch(es) between the lab's expectations and the analyzer`);
    return mism.length ? 1 : 0;
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`lab: ${process.env.PNC_LAB_DEBUG ? e.stack : e.message}`);
      process.exit(2);
    },
  );
}
