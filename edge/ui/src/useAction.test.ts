import { describe, expect, it } from 'vitest';
import { ActionRunner, type ActionState, LEAVING_PAGE } from './useAction.ts';

function runner() {
  const reports: ActionState[] = [];
  return { reports, r: new ActionRunner((s) => reports.push(s)) };
}

function deferred() {
  let resolve!: (v?: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('ActionRunner', () => {
  it('is busy while the action runs, then idle without an error', async () => {
    const { r, reports } = runner();
    const d = deferred();
    const done = r.run(() => d.promise, 'save');
    expect(reports).toEqual([{ running: 'save', error: null }]);
    d.resolve();
    expect(await done).toBe(true);
    expect(reports.at(-1)).toEqual({ running: null, error: null });
  });

  it('keeps what the action threw until the next run starts', async () => {
    const { r, reports } = runner();
    const failure = new Error('cannot save: taken');
    expect(await r.run(() => Promise.reject(failure))).toBe(false);
    expect(reports.at(-1)).toEqual({ running: null, error: failure });
    const d = deferred();
    const next = r.run(() => d.promise);
    expect(reports.at(-1)).toEqual({ running: 'action', error: null });
    d.resolve();
    await next;
  });

  it('ignores a second run while one is running', async () => {
    const { r } = runner();
    const d = deferred();
    let calls = 0;
    const first = r.run(() => {
      calls++;
      return d.promise;
    });
    expect(
      await r.run(async () => {
        calls++;
      }),
    ).toBe(false);
    expect(calls).toBe(1);
    d.resolve();
    expect(await first).toBe(true);
    expect(
      await r.run(async () => {
        calls++;
      }),
    ).toBe(true);
    expect(calls).toBe(2);
  });

  it('reports nothing once unmounted, and a later run still works', async () => {
    const { r, reports } = runner();
    const d = deferred();
    const done = r.run(() => d.promise);
    r.mounted = false;
    d.reject(new Error('answered after the page went away'));
    expect(await done).toBe(false);
    expect(reports).toEqual([{ running: 'action', error: null }]);
    // Unmounted state is still kept, so a remount sees an idle runner, not one stuck busy.
    r.mounted = true;
    expect(await r.run(async () => undefined)).toBe(true);
  });

  it('stays busy when the action leaves the page', async () => {
    const { r, reports } = runner();
    expect(await r.run(async () => LEAVING_PAGE, 'sso')).toBe(true);
    expect(reports.at(-1)).toEqual({ running: 'sso', error: null });
    expect(await r.run(async () => undefined)).toBe(false);
  });
});
