#!/usr/bin/env node
// One entry for a fresh machine with only Node and npm: installs what a task needs, then runs it.
//   node tools/setup/bootstrap.mjs demo   -> pnpm, dependencies, build, the text-generation demo
//   node tools/setup/bootstrap.mjs test   -> the above plus Mesa's lavapipe (WebGPU on the CPU)
//                                            and Chromium (browser tests), then every test
//   node tools/setup/bootstrap.mjs setup  -> dependencies and build only
// Plain Node with no dependencies: it runs before anything is installed. It names no package
// registry or mirror: npm, corepack and apt use whatever this machine is configured with.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager; // pnpm@x.y.z
const pnpmVersion = pinned.split('@')[1];
/** Holds the `pnpm` shim; first on PATH for every child, so turbo and package scripts find pnpm. */
const shimDir = join(root, '.cache', 'bin');
const env = {
  ...process.env,
  // Node's own directory too: a shim or a package script may start `node` from a bare PATH.
  PATH: [shimDir, dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
  COREPACK_ENABLE_DOWNLOAD_PROMPT: '0',
  npm_config_update_notifier: 'false',
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
};

function log(msg) {
  process.stderr.write(`\x1b[36m[setup]\x1b[0m ${msg}\n`);
}

function fail(msg, status = 1) {
  log(msg);
  process.exit(status);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env, ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function must(cmd, args, opts) {
  const status = run(cmd, args, opts);
  if (status !== 0) fail(`failed (exit ${status}): ${cmd} ${args.join(' ')}`, status);
}

function output(cmd, args, extraEnv = {}) {
  try {
    return execFileSync(cmd, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

/**
 * npm reads its CA file from npmrc, but corepack and pnpm's Node do not: behind a proxy with its
 * own CA, npm works and corepack fails. Hand npm's setting to every Node child.
 */
function trustNpmCa() {
  if (env.NODE_EXTRA_CA_CERTS) return;
  const cafile = output('npm', ['config', 'get', 'cafile']);
  if (cafile && cafile !== 'null' && cafile !== 'undefined' && existsSync(cafile)) env.NODE_EXTRA_CA_CERTS = cafile;
}

/** A `pnpm` on PATH for this process and its children: one already there, corepack's, or npm's. */
function ensurePnpm() {
  trustNpmCa();
  if (output('pnpm', ['--version']) === pnpmVersion) return;
  // Corepack verifies npm signatures; registry mirrors often lack them, so skip that check
  // (the version is still pinned by package.json).
  env.COREPACK_INTEGRITY_KEYS = '0';
  let target;
  const corepack = output('sh', ['-c', 'command -v corepack']);
  if (corepack && output(corepack, [`pnpm@${pnpmVersion}`, '--version']) === pnpmVersion) {
    target = [corepack, `pnpm@${pnpmVersion}`];
  } else {
    const prefix = join(root, '.cache', 'pnpm');
    const local = join(prefix, 'node_modules', '.bin', 'pnpm');
    if (output(local, ['--version']) !== pnpmVersion) {
      log(`installing pnpm@${pnpmVersion} with npm into .cache/pnpm`);
      mkdirSync(prefix, { recursive: true });
      must('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, `pnpm@${pnpmVersion}`]);
    }
    target = [local];
  }
  writeShim(target);
  if (output('pnpm', ['--version']) !== pnpmVersion) fail(`could not run pnpm@${pnpmVersion} through ${join(shimDir, 'pnpm')}`);
}

/** `.cache/bin/pnpm`: runs `target` (corepack or a local pnpm) with the shim's arguments. */
function writeShim(target) {
  mkdirSync(shimDir, { recursive: true });
  const quoted = target.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const file = join(shimDir, 'pnpm');
  writeFileSync(file, `#!/bin/sh\n# Written by tools/setup/bootstrap.mjs: the pinned pnpm, for turbo and package scripts.\nexec ${quoted} "$@"\n`);
  chmodSync(file, 0o755);
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function apt(args) {
  const sudo = isRoot() ? [] : output('sudo', ['-n', 'true']) !== null ? ['sudo', '-n'] : null;
  if (sudo === null) {
    log(`need root for: apt-get ${args.join(' ')} (run as root or with passwordless sudo)`);
    return 1;
  }
  const [cmd, ...rest] = [...sudo, 'apt-get'];
  return run(cmd, [...rest, ...args], { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
}

let aptUpdated = false;
function aptUpdate() {
  if (!aptUpdated) apt(['update', '-qq']);
  aptUpdated = true;
}

function debianCodename() {
  if (!existsSync('/etc/os-release')) return null;
  const m = readFileSync('/etc/os-release', 'utf8').match(/^VERSION_CODENAME=(\S+)/m);
  return m ? m[1] : null;
}

const MESA_MIN = 24;
const mesaMajor = (version) => Number.parseInt(version, 10);

/** Suites apt offers a Mesa >= 24 from, read from `apt-cache madison` (`pkg | version | URI suite/component ...`). */
function suitesWithNewMesa() {
  const table = output('apt-cache', ['madison', 'mesa-vulkan-drivers']) ?? '';
  const suites = [];
  for (const line of table.split('\n')) {
    const [, version, source] = line.split('|').map((s) => s.trim());
    const suite = source?.split(/\s+/)[1]?.split('/')[0];
    if (version && suite && mesaMajor(version) >= MESA_MIN) suites.push(suite);
  }
  return suites;
}

/** Where apt already fetches Debian's `codename` main suite from (`apt-cache policy` names it). */
function configuredDebianUri(codename) {
  const lines = (output('apt-cache', ['policy']) ?? '').split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const source = lines[i].match(/^\s*\d+\s+(\S+)\s+(\S+)\/main\s/);
    if (source && source[2] === codename && /\bo=Debian,.*\bn=[^,]+,.*\bc=main\b/.test(lines[i + 1])) return source[1];
  }
  return null;
}

/** Adds `<codename>-backports` from the same place apt gets `<codename>` from; false when apt names no such place. */
function addBackports(codename) {
  const uri = configuredDebianUri(codename);
  if (!uri) return false;
  const list = `/etc/apt/sources.list.d/${codename}-backports.sources`;
  log(`adding ${codename}-backports (from ${uri}, where apt gets ${codename}) for Mesa >= ${MESA_MIN}`);
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  const body = `Types: deb\nURIs: ${uri}\nSuites: ${codename}-backports\nComponents: main\n${existsSync(keyring) ? `Signed-By: ${keyring}\n` : ''}`;
  if (isRoot()) writeFileSync(list, body);
  else run('sudo', ['-n', 'sh', '-c', `printf '%s' '${body}' > ${list}`]);
  aptUpdated = false;
  aptUpdate();
  return true;
}

/** Mesa's lavapipe Vulkan driver, new enough for Dawn (Mesa >= 24; bookworm has it in backports). */
function ensureLavapipe() {
  const installed = output('dpkg-query', ['-W', '-f=${Version}', 'mesa-vulkan-drivers']);
  if (installed && mesaMajor(installed) >= MESA_MIN) return;
  const codename = debianCodename();
  if (!codename) {
    log('not a Debian system: install a Vulkan driver yourself for the WebGPU tests (they skip without an adapter)');
    return;
  }
  aptUpdate();
  let suites = suitesWithNewMesa();
  if (suites.length === 0 && addBackports(codename)) suites = suitesWithNewMesa();
  if (suites.length === 0) {
    fail(
      `the WebGPU tests need Mesa >= ${MESA_MIN} (Debian package mesa-vulkan-drivers), and no apt source configured here offers it. ` +
        `Add ${codename}-backports (or a newer Debian release) to your apt sources, run ` +
        `\`apt-get install -t ${codename}-backports mesa-vulkan-drivers\`, then run this again.`,
    );
  }
  const suite = suites[0];
  const status = apt(['install', '-y', '-qq', ...(suite === codename ? [] : ['-t', suite]), 'mesa-vulkan-drivers']);
  if (status !== 0) fail(`could not install mesa-vulkan-drivers from ${suite}: install it (Mesa >= ${MESA_MIN}) and run this again`, status);
}

function ensureChromium() {
  if (existsSync('/usr/bin/chromium')) return;
  if (!debianCodename()) {
    log('not a Debian system: the browser tests need Chromium at /usr/bin/chromium (or CHROMIUM_PATH)');
    return;
  }
  aptUpdate();
  apt(['install', '-y', '-qq', 'chromium']);
}

function installAndBuild(filter) {
  log('installing dependencies');
  // node_modules made with another store (another HOME, a global pnpm): reinstall without asking (no TTY here).
  must('pnpm', ['install', '--frozen-lockfile', '--config.confirm-modules-purge=false']);
  log('building');
  must('pnpm', ['exec', 'turbo', 'run', 'build', ...(filter ? [`--filter=${filter}`] : [])]);
}

const task = process.argv[2] ?? 'setup';
const rest = process.argv.slice(3);
if (!['setup', 'demo', 'test'].includes(task)) fail(`unknown task "${task}": use setup, demo or test`, 2);
ensurePnpm();
switch (task) {
  case 'setup':
    installAndBuild();
    break;
  case 'demo':
    installAndBuild('@mamba3/cli...');
    process.exit(run(process.execPath, [join(root, 'apps/cli/dist/main.js'), 'demo', ...rest]));
    break;
  case 'test':
    // Lavapipe compiles each WGSL pipeline with LLVM at its first dispatch, and that is most of
    // the suite's time. With 128-bit vectors instead of AVX2's 256 it compiles about 3x faster
    // (2 cores: backend-webgpu's tests 310 -> 120 s, core's 372 -> 154 s; BENCHMARKS.md). Its
    // subgroups are then 4 lanes wide, not 8: WebGPU's smallest size, which every kernel must
    // handle anyway. A value already in the environment wins.
    env.LP_NATIVE_VECTOR_WIDTH ??= '128';
    ensureLavapipe();
    ensureChromium();
    installAndBuild();
    log('testing');
    // One package at a time: the web app's browser tests time a Stop click against a running
    // generation and load pages under a 120 s limit; beside a lavapipe-heavy package on 2 cores
    // they failed (2026-11-27, --concurrency=2). The heavy packages run two test files at once.
    process.exit(run('pnpm', ['exec', 'turbo', 'run', 'test', '--concurrency=1', ...rest]));
    break;
}
