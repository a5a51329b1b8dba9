#!/usr/bin/env node
// Builds the sensor's native parts, called by scripts/setup.sh after `npm ci`:
//   1. sensor/bpf/vmlinux.h      kernel types for CO-RE (bpftool btf dump of /sys/kernel/btf/vmlinux)
//   2. sensor/bpf/capture.bpf.o  the eBPF object (clang -target bpf), debug info stripped, BTF kept
//   3. sensor/bpf/capture.skel.h the libbpf skeleton embedding that object (bpftool gen skeleton)
//   4. sensor/native/build/Release/understory_capture.node  the addon (node-gyp against /usr's Node headers)
// Skips everything when the sources, the tools and Node are the same as for the last build (a stamp file
// holds their hash). `--force` rebuilds anyway.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bpfDir = join(root, 'sensor/bpf');
const nativeDir = join(root, 'sensor/native');
const addon = join(nativeDir, 'build/Release/understory_capture.node');
const stampFile = join(nativeDir, 'build/.understory-sources.sha256');
const force = process.argv.includes('--force');

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  } catch (err) {
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    throw new Error(
      `cannot run ${cmd} ${args.join(' ')}: ${out.split('\n').slice(-30).join('\n') || err.message}`,
    );
  }
}

function sourcesHash() {
  const h = createHash('sha256');
  const files = [
    ...readdirSync(bpfDir)
      .filter((f) => /\.(bpf\.c|bpf\.h)$/.test(f) || f === 'capture.h')
      .sort()
      .map((f) => join(bpfDir, f)),
    join(nativeDir, 'binding.gyp'),
    ...readdirSync(join(nativeDir, 'src'))
      .sort()
      .map((f) => join(nativeDir, 'src', f)),
    fileURLToPath(import.meta.url),
  ];
  for (const f of files) h.update(f).update(readFileSync(f));
  h.update(process.version).update(process.arch);
  return h.digest('hex');
}

/** node-gyp ships inside npm; find it next to this Node, else let npm resolve it. */
function nodeGyp() {
  const candidates = [
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  ];
  const found = candidates.find((c) => existsSync(c));
  return found ? [process.execPath, [found]] : ['npm', ['exec', '--yes', '--', 'node-gyp']];
}

/** Node's headers: /usr/include/node on Debian/NodeSource packages; no download needed then. */
function nodeDir() {
  const prefix = join(dirname(process.execPath), '..');
  for (const dir of [prefix, '/usr', '/usr/local']) {
    if (existsSync(join(dir, 'include/node/node_api.h'))) return dir;
  }
  throw new Error(
    'cannot build the sensor addon: Node.js headers not found (include/node/node_api.h); install the nodejs package with headers',
  );
}

const want = sourcesHash();
if (!force && existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) {
  console.log('build-native: sensor addon up to date');
  process.exit(0);
}

const started = Date.now();
const vmlinux = join(bpfDir, 'vmlinux.h');
if (!existsSync(vmlinux) || force) {
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    throw new Error('cannot generate vmlinux.h: this kernel has no BTF (/sys/kernel/btf/vmlinux)');
  }
  writeFileSync(
    vmlinux,
    run('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { maxBuffer: 1 << 28 }),
  );
}
const obj = join(bpfDir, 'capture.bpf.o');
run('clang', [
  '-O2',
  '-g',
  '-target',
  'bpf',
  '-D__TARGET_ARCH_x86',
  '-Wall',
  '-Wno-unused-function',
  '-I',
  bpfDir,
  '-c',
  join(bpfDir, 'capture.bpf.c'),
  '-o',
  obj,
]);
// DWARF is only for humans; BTF (kept) is what libbpf needs for CO-RE.
run('llvm-strip', ['-g', obj]);
writeFileSync(
  join(bpfDir, 'capture.skel.h'),
  run('bpftool', ['gen', 'skeleton', obj, 'name', 'capture_bpf'], { maxBuffer: 1 << 28 }),
);

const [gypCmd, gypArgs] = nodeGyp();
mkdirSync(join(nativeDir, 'build'), { recursive: true });
run(gypCmd, [...gypArgs, 'rebuild', `--nodedir=${nodeDir()}`, '--jobs=2'], {
  cwd: nativeDir,
  maxBuffer: 1 << 26,
});
writeFileSync(stampFile, want);
console.log(`build-native: built ${addon} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
