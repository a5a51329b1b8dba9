import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// No container engine runs on this machine (docker is a client without a daemon), so build.sh is run against
// stand-in engines on a controlled PATH: none at all, one whose `info` fails, and one that records its calls.
const HERE = fileURLToPath(new URL('./', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(HERE, 'build.sh');
const APP_VERSION = /^appVersion: "(.+)"$/m.exec(
  readFileSync(join(ROOT, 'infra/helm/understory/Chart.yaml'), 'utf8'),
)![1]!;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A PATH holding only what build.sh needs, plus the given fake engines. */
function sandbox(engines: Record<string, string>): { bin: string; log: string } {
  const bin = mkdtempSync(join(tmpdir(), 'understory-build-'));
  dirs.push(bin);
  for (const tool of ['sed', 'dirname']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  const log = join(bin, 'calls.log');
  for (const [name, body] of Object.entries(engines)) {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return { bin, log };
}

function run(bin: string, args: string[] = []): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('/bin/bash', [SCRIPT, ...args], { env: { PATH: bin } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, out: stdout + stderr });
    });
  });
}

describe('infra/images/build.sh', () => {
  it('says clearly that no engine is installed', async () => {
    const { bin } = sandbox({});
    const r = await run(bin);
    expect(r.code).toBe(3);
    expect(r.out).toContain('cannot build images: no usable container engine on this machine');
    expect(r.out).toContain('none of docker, podman, nerdctl is installed');
  });

  it('says which engine was found but cannot reach its daemon (this machine: a docker client only)', async () => {
    const { bin } = sandbox({ docker: 'exit 1' });
    const r = await run(bin);
    expect(r.code).toBe(3);
    expect(r.out).toContain("found docker (installed, but 'docker info' fails");
  });

  it('builds both images from the repository root with the first working engine', async () => {
    const { bin, log } = sandbox({ docker: 'exit 1', podman: 'exit 0' });
    const r = await run(bin, ['--repository-prefix', 'registry.example.com/understory', '--push']);
    expect(r.out).toContain('built registry.example.com/understory/understory-sensor');
    expect(r.code).toBe(0);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    const root = ROOT.replace(/\/$/, '');
    expect(calls).toEqual([
      'docker info',
      'podman info',
      `podman build -f ${HERE}sensor.Dockerfile -t registry.example.com/understory/understory-sensor:${APP_VERSION} ${root}`,
      `podman push registry.example.com/understory/understory-sensor:${APP_VERSION}`,
      `podman build -f ${HERE}services.Dockerfile -t registry.example.com/understory/understory:${APP_VERSION} ${root}`,
      `podman push registry.example.com/understory/understory:${APP_VERSION}`,
    ]);
  });

  it.each([
    [['--tag', 'bad tag'], 2, "cannot use tag 'bad tag'"],
    [['--frobnicate'], 2, 'unknown argument: --frobnicate'],
  ])('refuses %j', async (args, code, message) => {
    const { bin } = sandbox({ docker: 'exit 0' });
    const r = await run(bin, args);
    expect(r.code).toBe(code);
    expect(r.out).toContain(message);
  });
});

describe('Dockerfiles', () => {
  const stages = (file: string) =>
    readFileSync(join(HERE, file), 'utf8')
      .split(/^FROM /m)
      .slice(1)
      .map((s) => `FROM ${s}`);

  it('sensor: builds the BPF object and addon on bookworm, runs on bookworm-slim with libbpf1 and libelf1', () => {
    const s = stages('sensor.Dockerfile');
    const froms = s.map((x) => x.split('\n')[0]);
    expect(froms).toHaveLength(4);
    expect(froms[0]).toMatch(/^FROM node:\$\{NODE_MAJOR\}-bookworm AS deps$/);
    expect(froms[1]).toMatch(/^FROM node:\$\{NODE_MAJOR\}-bookworm AS js$/);
    expect(froms[2]).toMatch(/^FROM node:\$\{NODE_MAJOR\}-bookworm AS native$/);
    expect(froms[3]).toMatch(/^FROM node:\$\{NODE_MAJOR\}-bookworm-slim$/);
    expect(s[1]).toContain('RUN node scripts/build-js.mjs /out');
    expect(s[2]).toMatch(/apt-get install .*clang .*libbpf-dev bpftool/);
    expect(s[2]).toContain('RUN node scripts/build-native.mjs --force');
    const runtime = s[3]!;
    // The compiled tree, not the sources through tsx (scripts/buildJs.test.ts runs such a tree).
    expect(runtime).toContain('COPY --from=js /out/ ./');
    expect(runtime).not.toMatch(/^COPY (cli|sensor|lib)\b/m);
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends libbpf1 libelf1/);
    expect(runtime).toContain('COPY --from=native /src/sensor/native/build/Release/understory_capture.node');
    expect(runtime).not.toMatch(/clang|libbpf-dev|bpftool/);
  });

  it('services: non-root numeric user, no compiler in the runtime stage', () => {
    const s = stages('services.Dockerfile');
    const runtime = s[s.length - 1]!;
    expect(runtime.split('\n')[0]).toMatch(/^FROM node:\$\{NODE_MAJOR\}-bookworm-slim$/);
    expect(runtime).toMatch(/^USER 10001:10001$/m);
    expect(runtime).toContain('COPY --from=js /out/ ./');
    expect(runtime).not.toMatch(/apt-get|clang/);
  });
});
