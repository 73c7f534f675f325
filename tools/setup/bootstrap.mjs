#!/usr/bin/env node
// One entry for a fresh machine with only Node and npm: installs what a task needs, then runs it.
//   node tools/setup/bootstrap.mjs demo   -> pnpm, dependencies, build, the text-generation demo
//   node tools/setup/bootstrap.mjs test   -> the above plus Mesa's lavapipe (WebGPU on the CPU)
//                                            and Chromium (browser tests), then every test
//   node tools/setup/bootstrap.mjs setup  -> dependencies and build only
// Plain Node with no dependencies: it runs before anything is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager; // pnpm@x.y.z
const pnpmVersion = pinned.split('@')[1];
const env = { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: '0', XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };

function log(msg) {
  process.stderr.write(`\x1b[36m[setup]\x1b[0m ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env, ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function must(cmd, args, opts) {
  const status = run(cmd, args, opts);
  if (status !== 0) {
    log(`failed (exit ${status}): ${cmd} ${args.join(' ')}`);
    process.exit(status);
  }
}

function output(cmd, args) {
  try {
    return execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

/** Returns a command that runs the pinned pnpm: an existing one, corepack's, or npm's. */
function ensurePnpm() {
  if (output('pnpm', ['--version']) === pnpmVersion) return ['pnpm'];
  // Corepack verifies npm signatures; registry mirrors often lack them, so skip that check
  // (the version is still pinned by package.json).
  env.COREPACK_INTEGRITY_KEYS = '0';
  if (output('corepack', [`pnpm@${pnpmVersion}`, '--version']) === pnpmVersion) return ['corepack', `pnpm@${pnpmVersion}`];
  const prefix = join(root, '.cache', 'pnpm');
  const local = join(prefix, 'node_modules', '.bin', 'pnpm');
  if (output(local, ['--version']) !== pnpmVersion) {
    log(`installing pnpm@${pnpmVersion} with npm into .cache/pnpm`);
    mkdirSync(prefix, { recursive: true });
    must('npm', ['install', '--no-save', '--prefix', prefix, `pnpm@${pnpmVersion}`]);
  }
  return [local];
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

function debianCodename() {
  if (!existsSync('/etc/os-release')) return null;
  const m = readFileSync('/etc/os-release', 'utf8').match(/^VERSION_CODENAME=(\S+)/m);
  return m ? m[1] : null;
}

/** Mesa's lavapipe Vulkan driver, new enough for Dawn (Mesa >= 24; bookworm needs backports). */
function ensureLavapipe() {
  const installed = output('dpkg-query', ['-W', '-f=${Version}', 'mesa-vulkan-drivers']);
  if (installed && Number.parseInt(installed, 10) >= 24) return;
  const codename = debianCodename();
  if (!codename) {
    log('not a Debian system: install a Vulkan driver yourself for the WebGPU tests (they skip without an adapter)');
    return;
  }
  if (codename === 'bookworm') {
    const list = '/etc/apt/sources.list.d/bookworm-backports.sources';
    if (!existsSync(list)) {
      const mirror = aptMirror() ?? 'http://deb.debian.org/debian';
      log(`adding bookworm-backports (${mirror}) for Mesa 25`);
      const body = `Types: deb\nURIs: ${mirror}\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;
      if (isRoot()) writeFileSync(list, body);
      else run('sudo', ['-n', 'sh', '-c', `printf '%s' '${body}' > ${list}`]);
    }
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', '-t', 'bookworm-backports', 'mesa-vulkan-drivers']);
  } else {
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', 'mesa-vulkan-drivers']);
  }
}

/** The Debian mirror apt already uses, so the backports suite comes from the same place. */
function aptMirror() {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const deb822 = text.match(/^URIs:\s*(\S+\/debian)\/?\s*$/m);
    if (deb822) return deb822[1];
    const legacy = text.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+bookworm\s/m);
    if (legacy) return legacy[1];
  }
  return null;
}

function ensureChromium() {
  if (existsSync('/usr/bin/chromium')) return;
  if (!debianCodename()) {
    log('not a Debian system: the browser tests need Chromium at /usr/bin/chromium (or CHROMIUM_PATH)');
    return;
  }
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', 'chromium']);
}

function installAndBuild(pnpm, filter) {
  const [cmd, ...pre] = pnpm;
  log('installing dependencies');
  must(cmd, [...pre, 'install', '--frozen-lockfile']);
  log('building');
  must(cmd, [...pre, 'exec', 'turbo', 'run', 'build', ...(filter ? [`--filter=${filter}`] : [])]);
}

const task = process.argv[2] ?? 'setup';
const rest = process.argv.slice(3);
const pnpm = ensurePnpm();
const [cmd, ...pre] = pnpm;
switch (task) {
  case 'setup':
    installAndBuild(pnpm);
    break;
  case 'demo':
    installAndBuild(pnpm, '@mamba3/cli...');
    process.exit(run(process.execPath, [join(root, 'apps/cli/dist/main.js'), 'demo', ...rest]));
    break;
  case 'test':
    ensureLavapipe();
    ensureChromium();
    installAndBuild(pnpm);
    log('testing');
    process.exit(run(cmd, [...pre, 'exec', 'turbo', 'run', 'test', '--concurrency=1', ...rest]));
    break;
  default:
    log(`unknown task "${task}": use setup, demo or test`);
    process.exit(2);
}
