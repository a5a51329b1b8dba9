/**
 * The edge on Miniflare directly (the same workerd, local D1 and Durable Objects as `wrangler dev`, without
 * wrangler's ProxyWorker in front): `node miniflareEdge.mjs <json>` with { script, config, persistRoot, port,
 * vars }. `script` is the worker bundled by `wrangler deploy --dry-run --outdir`; the bindings come from
 * wrangler.toml through wrangler's own `unstable_getMiniflareWorkerOptions`, so both runtimes serve one
 * configuration. Prints `ready <url>` when serving; stops on SIGTERM. Used by edgeStack.ts for benchmarks.
 */
import { dirname } from 'node:path';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from 'wrangler';

const { script, config, persistRoot, port, vars } = JSON.parse(process.argv[2]);
const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
const mf = new Miniflare({
  ...workerOptions,
  // wrangler dev names the worker after the config's `name` too (Durable Object storage is keyed by it).
  name: unstable_readConfig({ config }).name,
  bindings: { ...workerOptions.bindings, ...vars },
  modulesRoot: dirname(script),
  modules: [{ type: 'ESModule', path: script }],
  host: '127.0.0.1',
  port,
  defaultPersistRoot: persistRoot,
});
const url = await mf.ready;
process.stdout.write(`ready ${url.href}\n`);
const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
