/**
 * Random secrets and their storage form. Every bearer secret (session id, API token, install token, invitation)
 * has 256 bits of entropy, so a single SHA-256 is enough to store it: a slow hash only matters for guessable
 * secrets such as passwords (crypto/password.ts).
 */

const encoder = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Uint8Array {
  const s = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** `bytes` random bytes, base64url (no padding). */
export function randomSecret(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A short random id with a type prefix (`usr_`, `org_`...): 16 random bytes, not a secret. */
export function newId(prefix: string): string {
  return `${prefix}_${randomSecret(16)}`;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Constant-time string equality (workerd's crypto.subtle.timingSafeEqual); lengths may leak, contents not. */
export function timingSafeEqualText(a: string, b: string): boolean {
  const ab = encoder.encode(a);
  const bb = encoder.encode(b);
  if (ab.byteLength !== bb.byteLength) {
    // Still compare something of the same length so the time does not depend on where strings differ.
    crypto.subtle.timingSafeEqual(ab, ab);
    return false;
  }
  return crypto.subtle.timingSafeEqual(ab, bb);
}
