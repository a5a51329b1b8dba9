import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logger } from '../../../lib/log.ts';
import { HostFiles } from './hostFiles.ts';

const root = mkdtempSync(join(tmpdir(), 'understory-host-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
for (const d of ['a', 'b']) {
  mkdirSync(join(root, d));
  for (let i = 1; i <= 4; i++) writeFileSync(join(root, d, `${i}.log`), '');
}
const at = (...p: string[]) => join(root, ...p);

/** A logger that keeps what it was told. */
function recordingLog() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const log = logger('test');
  for (const level of ['info', 'warn'] as const)
    (log as unknown as Record<string, unknown>)[level] = (obj: Record<string, unknown>, msg: string) =>
      void lines.push({ level, obj, msg });
  return { log, lines };
}

describe('HostFiles', () => {
  it('caps files per pattern and in total, keeping followed files first, and logs a changed cut once', () => {
    const { log, lines } = recordingLog();
    const h = new HostFiles(
      [
        { path: at('a/*.log'), service: 'a', maxFiles: 3 },
        { path: at('b/*.log'), service: 'b' },
      ],
      5,
      log,
    );
    const followed = new Set([at('a/4.log')]);
    const list = () =>
      h.list(new Set(), (p) => followed.has(p)).map((f) => `${f.service}:${f.path.slice(root.length + 1)}`);
    expect(list()).toEqual(['a:a/4.log', 'a:a/1.log', 'a:a/2.log', 'b:b/1.log', 'b:b/2.log']);
    expect(Object.fromEntries(h.cut)).toEqual({ [at('a/*.log')]: 1, [at('b/*.log')]: 2 });
    expect(lines.map((l) => [l.level, l.obj.pattern, l.obj.filesLeftOut])).toEqual([
      ['warn', at('a/*.log'), 1],
      ['warn', at('b/*.log'), 2],
    ]);
    list();
    expect(lines).toHaveLength(2); // the same cut is not logged again
    rmSync(at('b/3.log'));
    rmSync(at('b/4.log'));
    list();
    expect(h.cut.get(at('b/*.log'))).toBe(0);
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'log file pattern within its caps again' });
  });

  it('gives a file matched twice (or already a pod file) to the first, with its rule', () => {
    const h = new HostFiles(
      [
        { path: at('a/1.log'), service: 'one', multiline: { start: '^\\d' } },
        { path: at('a/*.log'), service: 'all' },
      ],
      100,
      logger('test'),
    );
    const got = h.list(new Set([at('a/2.log')]), () => false);
    expect(got.map((f) => [f.service, f.path.slice(root.length + 1), f.multiline !== undefined])).toEqual([
      ['one', 'a/1.log', true],
      ['all', 'a/3.log', false],
      ['all', 'a/4.log', false],
    ]);
  });

  it('refuses bad patterns and multi-line rules when built', () => {
    expect(() => new HostFiles([{ path: 'x.log', service: 's' }], 1, logger('test'))).toThrow(
      /cannot use log file pattern "x.log": not an absolute path/,
    );
    expect(
      () => new HostFiles([{ path: '/x.log', service: 's', multiline: { start: '[' } }], 1, logger('test')),
    ).toThrow(/cannot use multiline rule/);
  });
});
