import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MonitorConfigStore, type StoredTarget } from './configStore.ts';
import { MonitorEvaluator } from './evaluator.ts';
import { generateKeyFileContent, keyId, TargetSecretError, TargetSecretKeys } from './targetSecrets.ts';
import { FAST, monitor, openStore, target, until } from './testing/stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'understory-target-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = {
  url: 'https://hooks.example.com/services/T1/B2/SECRETPATH',
  headers: { Authorization: 'Bearer s3' },
};

function keyFile(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

describe('TargetSecretKeys', () => {
  it('seals and opens; the sealed text names the key, not the secret', () => {
    const keys = new TargetSecretKeys([randomBytes(32)]);
    const sealed = keys.seal('tgt_a', secret);
    expect(sealed).toMatch(new RegExp(`^v1\\.${keys.currentId}\\.[A-Za-z0-9_-]+$`));
    expect(sealed).not.toContain('SECRETPATH');
    expect(keys.open('tgt_a', sealed)).toEqual(secret);
    expect(keys.seal('tgt_a', secret)).not.toBe(sealed); // a fresh IV each time
  });

  it('refuses a blob moved to another target, altered bytes, and a key it does not hold', () => {
    const key = randomBytes(32);
    const keys = new TargetSecretKeys([key]);
    const sealed = keys.seal('tgt_a', secret);
    expect(() => keys.open('tgt_b', sealed)).toThrow(/does not authenticate with key/);
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    expect(() => keys.open('tgt_a', `${sealed.slice(0, -2)}${last}${sealed.at(-1)}`)).toThrow(
      TargetSecretError,
    );
    const other = new TargetSecretKeys([randomBytes(32)]);
    expect(() => other.open('tgt_a', sealed)).toThrow(
      `sealed with key ${keyId(key)}, which the key file does not hold (it holds ${other.currentId})`,
    );
    expect(() => keys.open('tgt_a', '{"url":"x"}')).toThrow(/not a sealed value/);
  });

  it('reads key files: first line seals, every line opens; bad files get clear errors', () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const sealedOld = new TargetSecretKeys([oldKey]).seal('t', secret);
    const file = keyFile(
      'two.key',
      `# rotated today\n${newKey.toString('base64')}\n\n${oldKey.toString('base64')}\n`,
    );
    const keys = TargetSecretKeys.fromFile(file);
    expect(keys.currentId).toBe(keyId(newKey));
    expect(keys.ids).toEqual([keyId(newKey), keyId(oldKey)]);
    expect(keys.open('t', sealedOld)).toEqual(secret);
    expect(keys.isStale(sealedOld)).toBe(true);
    expect(keys.isStale(keys.seal('t', secret))).toBe(false);
    // A key the file does not hold: unreadable, not something to re-seal.
    expect(new TargetSecretKeys([randomBytes(32)]).isStale(sealedOld)).toBe(false);
    expect(TargetSecretKeys.fromFile(keyFile('gen.key', generateKeyFileContent())).ids).toHaveLength(1);

    expect(() => TargetSecretKeys.fromFile(join(dir, 'missing.key'))).toThrow(
      /^cannot read the monitors secrets key file .*missing\.key: ENOENT/,
    );
    expect(() => TargetSecretKeys.fromFile(keyFile('empty.key', '\n# nothing\n'))).toThrow(/holds no key/);
    expect(() =>
      TargetSecretKeys.fromFile(keyFile('short.key', `${randomBytes(16).toString('base64')}\n`)),
    ).toThrow(/line 1 is not 32 bytes in base64 \(make one with: openssl rand -base64 32\)/);
    expect(() => TargetSecretKeys.fromFile(keyFile('text.key', 'correct horse battery staple\n'))).toThrow(
      /line 1 is not 32 bytes/,
    );
  });
});

describe('stored targets (chdb)', () => {
  let db: Awaited<ReturnType<typeof openStore>>;
  beforeAll(async () => {
    db = await openStore();
  });
  afterAll(async () => {
    await db?.close();
  });
  const rawRows = async () => JSON.stringify(await db.store.query('SELECT * FROM monitor_config'));

  it('rotation: rows in clear (before encryption) and rows of the old key are re-sealed, nothing is lost', async () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    // A row as written before targets were encrypted, and one sealed with the key about to be rotated out.
    await db.store.insert('monitor_config', [
      {
        Kind: 'target',
        Id: 'legacy',
        Version: 1,
        Deleted: 0,
        Body: JSON.stringify(target('legacy', { name: 'old', type: 'webhook', ...secret })),
        UpdatedAt: '2026-01-01 00:00:00.000',
      },
    ]);
    await new MonitorConfigStore(db.store, new TargetSecretKeys([oldKey])).put(
      'target',
      target('rotated', {
        name: 'r',
        type: 'slack',
        url: 'https://hooks.example.com/OLDKEYPATH',
        headers: {},
      }),
    );
    expect(await rawRows()).toContain('SECRETPATH');

    const rotated = new TargetSecretKeys([newKey, oldKey]);
    const config = new MonitorConfigStore(db.store, rotated);
    const before = await config.list('target');
    expect(MonitorConfigStore.staleCount(before, rotated)).toBe(2);
    expect(await config.resealStale()).toBe(2);
    expect(await config.resealStale()).toBe(0);
    const after = await config.list('target');
    expect(after.every((t) => TargetSecretKeys.sealedKeyId(t.sealed ?? '') === rotated.currentId)).toBe(true);
    // Once old versions are merged away (what ReplacingMergeTree does in time; FINAL forces it), no clear text.
    await db.store.exec('OPTIMIZE TABLE monitor_config FINAL');
    const raw = await rawRows();
    expect(raw).not.toContain('SECRETPATH');
    expect(raw).not.toContain('OLDKEYPATH');
    expect(raw).not.toContain('Bearer s3');

    // The old key can go now: the new key alone opens everything.
    const loaded = await new MonitorConfigStore(db.store, new TargetSecretKeys([newKey])).load();
    expect(loaded.unreadableTargets).toEqual([]);
    expect(loaded.targets.find((t) => t.id === 'legacy')).toMatchObject(secret);
    expect(loaded.targets.find((t) => t.id === 'rotated')?.url).toBe('https://hooks.example.com/OLDKEYPATH');
  });

  it('a wrong key: the evaluator names the target and key in its health, counts the failure, keeps the row', async () => {
    const sealedBy = new TargetSecretKeys([randomBytes(32)]);
    await new MonitorConfigStore(db.store, sealedBy).put(
      'target',
      target('orphan', { name: 'o', type: 'webhook', url: 'https://h.example.com/x', headers: {} }),
    );
    const rowBefore = await db.store.query("SELECT Body FROM monitor_config WHERE Id = 'orphan'");
    const wrong = new TargetSecretKeys([randomBytes(32)]);
    // A monitor that fires at once (no events in the window: count 0 < 1) and notifies the orphaned target.
    await new MonitorConfigStore(db.store).put(
      'monitor',
      monitor('silent', {
        name: 'silence',
        condition: {
          type: 'sql',
          source: 'events',
          aggregate: 'count',
          windowSeconds: 60,
          op: '<',
          threshold: 1,
        },
        intervalSeconds: 1,
        targets: ['orphan'],
      }),
    );
    const evaluator = new MonitorEvaluator({ ...FAST, store: db.store, secrets: wrong });
    await evaluator.start();
    try {
      const failed = async () =>
        (await evaluator.metrics.notifications.get()).values.find((v) => v.labels.outcome === 'failed')
          ?.value;
      await until(
        'the notification to the orphaned target to fail',
        async () => (await failed()) === 1,
        15_000,
      );
      await evaluator.flushHistory();
      expect(
        await db.store.query("SELECT State, Notified FROM alert_history WHERE MonitorId = 'silent'"),
      ).toEqual([{ State: 'firing', Notified: 'none' }]);
      const health = await evaluator.health();
      expect(health.ok).toBe(true); // other targets and every monitor keep working
      expect(health.detail).toMatch(/cannot notify target\(s\) [a-z, ]*orphan/);
      const { unreadableTargets } = await evaluator.config.load();
      expect(unreadableTargets.find((u) => u.id === 'orphan')?.error).toContain(
        `cannot open the secrets of target orphan: sealed with key ${sealedBy.currentId}, which the key file`,
      );
      // legacy and rotated (sealed with the previous test's new key) do not open with this key either.
      const gauge = await evaluator.metrics.targetSecrets.get();
      const state = (s: string) => gauge.values.find((v) => v.labels.state === s)?.value;
      expect([state('unreadable'), state('stale'), state('current')]).toEqual([3, 0, 0]);
      expect(await evaluator.config.resealStale()).toBe(0); // what does not open is never rewritten
    } finally {
      await evaluator.shutdown();
    }
    expect(await db.store.query("SELECT Body FROM monitor_config WHERE Id = 'orphan'")).toEqual(rowBefore);
    const withoutKey = await new MonitorConfigStore(db.store).load();
    expect(withoutKey.unreadableTargets.map((u) => u.error)).toContain(
      'cannot open the secrets of target orphan: no secrets key is configured (--secrets-key-file)',
    );
  });

  it('lists targets without a key (the clear part), refuses to write one', async () => {
    const keyless = new MonitorConfigStore(db.store);
    const listed: StoredTarget[] = await keyless.list('target');
    expect(listed.map((t) => t.id)).toContain('orphan');
    await expect(
      keyless.put('target', target('x', { name: 'x', type: 'webhook', url: 'https://h/x', headers: {} })),
    ).rejects.toThrow(/cannot store notification target x: no secrets key is configured/);
  });
});
