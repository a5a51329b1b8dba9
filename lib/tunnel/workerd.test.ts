import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeChunk, encodeControl } from './codec.ts';

/**
 * The schema must run unchanged inside workerd (the edge's Durable Object). Bundle lib/tunnel for a neutral
 * platform (a Node import would fail the build or the load) and run it in a real workerd via Miniflare:
 * frames made in Node are decoded there and vice versa.
 */
const entry = `
import { decodeMessage, encodeChunk, encodeControl, PROTOCOL_VERSION } from ${JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url)))};
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const body = new Uint8Array(await request.arrayBuffer());
    if (url.pathname === '/decode') {
      const m = decodeMessage(url.searchParams.get('text') ?? body);
      return Response.json(m.type === 'chunk' ? { ...m, data: Array.from(m.data) } : m);
    }
    if (url.pathname === '/chunk') return new Response(encodeChunk('w-1', 3, body));
    if (url.pathname === '/hello')
      return new Response(encodeControl({ type: 'hello', version: PROTOCOL_VERSION, clusterId: null, replicaId: 'edge-test', capabilities: [] }));
    try {
      decodeMessage(url.searchParams.get('bad') ?? '');
    } catch (e) {
      return new Response(e.message, { status: 400 });
    }
    return new Response('no error', { status: 500 });
  },
};`;

describe('lib/tunnel inside workerd', () => {
  let mf: Miniflare | undefined;
  afterAll(async () => mf?.dispose());

  it('bundles without Node APIs and round-trips frames between Node and workerd', async () => {
    const out = await build({
      stdin: { contents: entry, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'js' },
      bundle: true,
      platform: 'neutral',
      format: 'esm',
      mainFields: ['module', 'main'],
      write: false,
      logLevel: 'silent',
    });
    mf = new Miniflare({ modules: true, script: out.outputFiles[0]!.text, compatibilityDate: '2026-04-01' });

    const frame = encodeChunk('n-1', 7, new Uint8Array([1, 2, 3]));
    const decoded = await (await mf.dispatchFetch('http://x/decode', { method: 'POST', body: frame })).json();
    expect(decoded).toEqual({ type: 'chunk', id: 'n-1', seq: 7, data: [1, 2, 3] });

    const text = encodeControl({ type: 'cancel', id: 'n-2' });
    const control = await (await mf.dispatchFetch(`http://x/decode?text=${encodeURIComponent(text)}`)).json();
    expect(control).toEqual({ type: 'cancel', id: 'n-2' });

    const fromWorker = new Uint8Array(
      await (await mf.dispatchFetch('http://x/chunk', { method: 'POST', body: 'abc' })).arrayBuffer(),
    );
    expect(decodeMessage(fromWorker)).toEqual({
      type: 'chunk',
      id: 'w-1',
      seq: 3,
      data: new TextEncoder().encode('abc'),
    });
    expect(decodeMessage(await (await mf.dispatchFetch('http://x/hello')).text())).toMatchObject({
      replicaId: 'edge-test',
    });

    const bad = await mf.dispatchFetch(`http://x/bad?bad=${encodeURIComponent('{"type":"cancel","id":""}')}`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('cannot decode tunnel message: id:');
  }, 60_000);
});
