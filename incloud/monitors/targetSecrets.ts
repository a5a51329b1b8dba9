/**
 * Encryption at rest of notification target secrets (webhook URLs, which often carry a token, and header values)
 * in ClickHouse `monitor_config`. AES-256-GCM (node:crypto) with a 96-bit random IV per seal; the target id is the
 * additional authenticated data, so a sealed blob copied onto another target does not open.
 *
 * The key file holds one key per line: 32 random bytes in base64 (`openssl rand -base64 32`). The FIRST line seals;
 * every line opens. That is the rotation story: put a new key on the first line and keep the old one below it,
 * restart the portal and the evaluator; the evaluator re-seals every target with the new key on its next sync;
 * once `monitors_target_secrets{state="stale"}` is 0, drop the old line. A blob sealed with a key the
 * file does not hold is reported by id and key id and left untouched: nothing is re-written or deleted.
 *
 * Sealed form: `v1.<keyId>.<base64url(iv | ciphertext | tag)>`, keyId = 8 hex chars of SHA-256 over the key
 * (names the key in errors without revealing it).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** What a target keeps secret. */
export interface TargetSecretValues {
  url: string;
  headers: Record<string, string>;
}

export class TargetSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetSecretError';
  }
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';
/** Upper bound of a sealed blob we try to open (a target's URL + headers are a few KB at most). */
const MAX_SEALED_CHARS = 64 * 1024;

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** A new key file's content: one fresh key (what `understory up` writes into its data directory). */
export function generateKeyFileContent(): string {
  return `${randomBytes(KEY_BYTES).toString('base64')}\n`;
}

export class TargetSecretKeys {
  private readonly keys: Map<string, Buffer>;
  /** Id of the key that seals (the key file's first line). */
  readonly currentId: string;

  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new TargetSecretError('cannot use the secrets keys: none given');
    for (const k of keys)
      if (k.length !== KEY_BYTES)
        throw new TargetSecretError(`cannot use a secrets key of ${k.length} bytes: AES-256 needs 32`);
    this.keys = new Map(keys.map((k) => [keyId(k), k]));
    this.currentId = keyId(keys[0]!);
  }

  /** Reads a key file (one base64 key per line, `#` comments allowed); errors name the file and line. */
  static fromFile(file: string): TargetSecretKeys {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new TargetSecretError(
        `cannot read the monitors secrets key file ${file}: ${(err as Error).message}`,
      );
    }
    const keys: Buffer[] = [];
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(line) ? Buffer.from(line, 'base64') : Buffer.alloc(0);
      if (key.length !== KEY_BYTES)
        throw new TargetSecretError(
          `cannot read the monitors secrets key file ${file}: line ${i + 1} is not 32 bytes in base64 ` +
            '(make one with: openssl rand -base64 32)',
        );
      keys.push(key);
    }
    if (keys.length === 0)
      throw new TargetSecretError(`cannot read the monitors secrets key file ${file}: it holds no key`);
    return new TargetSecretKeys(keys);
  }

  /** Ids of every key that opens (current first). */
  get ids(): string[] {
    return [this.currentId, ...[...this.keys.keys()].filter((id) => id !== this.currentId)];
  }

  seal(targetId: string, secrets: TargetSecretValues): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentId)!, iv);
    cipher.setAAD(aad(targetId));
    const plain = Buffer.from(JSON.stringify({ url: secrets.url, headers: secrets.headers }), 'utf8');
    const body = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${this.currentId}.${body.toString('base64url')}`;
  }

  /** The key id a sealed blob names (undefined when it is not one of ours). */
  static sealedKeyId(sealed: string): string | undefined {
    const m = /^v1\.([0-9a-f]{8})\./.exec(sealed);
    return m?.[1];
  }

  /** Whether a sealed blob should be sealed again: an older key of the file sealed it (so it can be opened). */
  isStale(sealed: string): boolean {
    const id = TargetSecretKeys.sealedKeyId(sealed);
    return id !== undefined && id !== this.currentId && this.keys.has(id);
  }

  /** Opens a blob of `targetId`; throws TargetSecretError naming the key when it cannot. */
  open(targetId: string, sealed: string): TargetSecretValues {
    const parts = sealed.length <= MAX_SEALED_CHARS ? sealed.split('.') : [];
    if (parts.length !== 3 || parts[0] !== VERSION)
      throw new TargetSecretError(`cannot open the secrets of target ${targetId}: not a sealed value`);
    const id = parts[1]!;
    const key = this.keys.get(id);
    if (!key)
      throw new TargetSecretError(
        `cannot open the secrets of target ${targetId}: sealed with key ${id}, which the key file does not ` +
          `hold (it holds ${this.ids.join(', ')}); put that key back in the file (below the current one)`,
      );
    const body = Buffer.from(parts[2]!, 'base64url');
    if (body.length < IV_BYTES + TAG_BYTES)
      throw new TargetSecretError(`cannot open the secrets of target ${targetId}: sealed value too short`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES));
      decipher.setAAD(aad(targetId));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]);
      const value = JSON.parse(plain.toString('utf8')) as TargetSecretValues;
      return { url: String(value.url), headers: { ...value.headers } };
    } catch {
      // GCM's tag check failed: altered bytes, or a blob of another target.
      throw new TargetSecretError(
        `cannot open the secrets of target ${targetId}: the sealed value does not authenticate with key ${id}`,
      );
    }
  }
}

function aad(targetId: string): Buffer {
  return Buffer.from(`understory.monitors.target:${targetId}`, 'utf8');
}
