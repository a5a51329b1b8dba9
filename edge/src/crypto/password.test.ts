import { describe, expect, it } from 'vitest';
import { hashPassword, MAX_PBKDF2_ITERATIONS, PBKDF2_ITERATIONS, verifyPassword } from './password.ts';

describe('password hashing', () => {
  it("uses the production runtime's PBKDF2 ceiling, and that count works here", async () => {
    // Cloudflare production refuses > 100,000 (cloudflare/workerd#1346); local workerd has no ceiling to probe.
    expect(PBKDF2_ITERATIONS).toBe(100_000);
    expect(MAX_PBKDF2_ITERATIONS).toBe(PBKDF2_ITERATIONS);
    const stored = await hashPassword('pw-123456789');
    expect(stored.split('$')[1]).toBe(String(PBKDF2_ITERATIONS));
  });

  it('verifies the right password only, with a per-user salt', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterz', a)).toBe(false);
  });

  it('keeps verifying hashes made with another iteration count', async () => {
    const old = await hashPassword('pw-123456789', 1000);
    expect(await verifyPassword('pw-123456789', old)).toBe(true);
  });

  it('never verifies a malformed or over-expensive stored hash', async () => {
    const good = await hashPassword('pw');
    const [, , salt, hash] = good.split('$');
    for (const stored of [
      '',
      'plain',
      'md5$1$aa$bb',
      'pbkdf2-sha256$0$aa$bb',
      'pbkdf2-sha256$x$aa$bb',
      `pbkdf2-sha256$${MAX_PBKDF2_ITERATIONS + 1}$${salt}$${hash}`,
    ]) {
      expect(await verifyPassword('pw', stored)).toBe(false);
    }
  });
});
