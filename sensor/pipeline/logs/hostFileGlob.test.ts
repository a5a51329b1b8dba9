import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandHostFileGlob, MAX_GLOB_DIRS, parseHostFileGlob } from './hostFileGlob.ts';

const root = mkdtempSync(join(tmpdir(), 'understory-glob-'));
const FILES = [
  'nginx/access.log',
  'nginx/error.log',
  'nginx/error.log.1', // logrotate
  'nginx/error.log.2.gz',
  'nginx/access.log-20261125', // dateext
  'nginx/.hidden.log',
  'nginx/notes.txt',
  'app/a/one.log',
  'app/a/b/two.log',
  'app/a/b/c/three.log',
  'app/.cache/skip.log',
  'app/x1.log',
  'app/x12.log',
];
beforeAll(() => {
  for (const f of FILES) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), 'line\n');
  }
  mkdirSync(join(root, 'app/dir.log')); // a directory is never a match
  symlinkSync(join(root, 'app'), join(root, 'app/a/loop')); // `**` must not follow it
  symlinkSync(join(root, 'nginx'), join(root, 'linked'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const expand = (pattern: string) =>
  expandHostFileGlob(parseHostFileGlob(join(root, pattern))).files.map((f) => f.slice(root.length + 1));

describe('parseHostFileGlob', () => {
  it.each([
    ['var/log/*.log', /not an absolute path/],
    ['/var/log/[ab].log', /\[\.\.\.\] and \{\.\.\.\} are not supported/],
    ['/var/log/{a,b}.log', /not supported/],
    ['/var/log//a.log', /empty, "\." or "\.\." path segment/],
    ['/var/log/../etc/passwd', /"\.\." path segment/],
    ['/var/log/a**/x.log', /"\*\*" must be a whole path segment/],
    ['/var/log/**', /the last segment must name files/],
  ])('refuses %s', (pattern, err) => {
    expect(() => parseHostFileGlob(pattern)).toThrow(/^cannot use log file pattern "/);
    expect(() => parseHostFileGlob(pattern)).toThrow(err);
  });

  it('walks from the directory before the first wildcard', () => {
    expect(parseHostFileGlob('/var/log/nginx/*.log')).toMatchObject({ base: '/var/log/nginx' });
    expect(parseHostFileGlob('/var/log/app/**/x.log')).toMatchObject({ base: '/var/log/app' });
    expect(parseHostFileGlob('/var/log/plain.log')).toEqual({
      pattern: '/var/log/plain.log',
      base: '/var/log/plain.log',
      segments: [],
    });
  });
});

describe('expandHostFileGlob', () => {
  it.each([
    ['nginx/*.log', ['nginx/access.log', 'nginx/error.log']],
    // rotated and compressed siblings and hidden files are never matched by a wildcard
    ['nginx/*', ['nginx/access.log', 'nginx/error.log', 'nginx/notes.txt']],
    ['nginx/error.log.1', ['nginx/error.log.1']], // named literally: followed as named
    ['nginx/missing.log', []],
    ['*/error.log', ['linked/error.log', 'nginx/error.log']], // a symbolic link named by `*` is followed
    ['app/x?.log', ['app/x1.log']],
    ['app/*.log', ['app/x1.log', 'app/x12.log']],
    [
      'app/**/*.log',
      ['app/a/b/c/three.log', 'app/a/b/two.log', 'app/a/one.log', 'app/x1.log', 'app/x12.log'],
    ],
    ['app/**/b/*.log', ['app/a/b/two.log']],
    ['app/a/**/three.log', ['app/a/b/c/three.log']],
    ['nope/**/*.log', []],
  ])('%s', (pattern, want) => {
    expect(expand(pattern)).toEqual(want);
  });

  it('picks up new files and drops vanished ones at each expansion', () => {
    const g = parseHostFileGlob(join(root, 'fresh/*.log'));
    expect(expandHostFileGlob(g).files).toEqual([]);
    mkdirSync(join(root, 'fresh'));
    writeFileSync(join(root, 'fresh/new.log'), '');
    expect(expandHostFileGlob(g).files).toEqual([join(root, 'fresh/new.log')]);
    rmSync(join(root, 'fresh/new.log'));
    expect(expandHostFileGlob(g).files).toEqual([]);
  });

  it(`stops a ** walk after ${MAX_GLOB_DIRS} directories and says so`, () => {
    const wide = join(root, 'wide');
    for (let i = 0; i < MAX_GLOB_DIRS + 5; i++)
      mkdirSync(join(wide, String(i).padStart(4, '0')), { recursive: true });
    writeFileSync(join(wide, 'first.log'), ''); // read first: `**` matches zero directories before any
    const r = expandHostFileGlob(parseHostFileGlob(join(wide, '**/*.log')));
    expect(r).toEqual({ files: [join(wide, 'first.log')], dirsCut: true });
    expect(expandHostFileGlob(parseHostFileGlob(join(wide, '0000/*.log'))).dirsCut).toBe(false);
  });
});
