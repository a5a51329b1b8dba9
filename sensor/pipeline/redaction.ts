/**
 * Redaction of headers, URLs and body prefixes before anything leaves the sensor (span attributes).
 *
 * - Headers: names in `sensitiveHeaders`, or whose name matches a sensitive key (`X-Auth-Token`), lose their
 *   value; URL-carrying headers (Referer, Location, ...) have their query values and userinfo redacted.
 * - Bodies: a small JSON scanner (not JSON.parse) finds `"key": value` pairs at any depth and replaces the whole
 *   value - string, number, literal, object or array - when the key is sensitive. It works on truncated JSON,
 *   which is what a bounded capture usually holds: an unterminated value is redacted to the end. Form bodies
 *   (`a=1&password=x`) redact the values of sensitive keys. Anything else gets the `key=value` / `key: value`
 *   fallback. Then, everywhere, values that are secrets by their look (JWTs, `Bearer`/`Basic` credentials, AWS
 *   access key ids) are replaced.
 * - Bounds: bodies are cut at `maxBodyChars` before redaction (so a secret cut in half is still redacted),
 *   headers at `maxHeaders` and `maxHeaderValueChars`.
 *
 * Pure functions of their input; called from the event loop.
 */
export interface RedactionConfig {
  /** Header names (any case) whose value is always replaced. */
  sensitiveHeaders: string[];
  /** Key names (any case; `-` and `_` ignored) matching one of these substrings are sensitive. */
  sensitiveKeys: string[];
  /** Extra patterns (regular expressions) replaced wherever they occur in values and bodies. */
  valuePatterns: string[];
  replacement: string;
  maxBodyChars: number;
  maxHeaders: number;
  maxHeaderValueChars: number;
}

export const DEFAULT_REDACTION_CONFIG: RedactionConfig = {
  sensitiveHeaders: [
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'x-api-key',
    'x-auth-token',
    'x-csrf-token',
    'x-xsrf-token',
    'x-amz-security-token',
    'x-goog-api-key',
    'api-key',
  ],
  sensitiveKeys: [
    'password',
    'passwd',
    'pwd',
    'secret',
    'token',
    'apikey',
    'accesskey',
    'privatekey',
    'credential',
    'authorization',
    'auth',
    'session',
    'cookie',
    'signature',
    'ssn',
    'creditcard',
    'cardnumber',
    'cvv',
  ],
  valuePatterns: [],
  replacement: '[REDACTED]',
  maxBodyChars: 4096,
  maxHeaders: 64,
  maxHeaderValueChars: 512,
};

const URL_HEADERS = new Set(['referer', 'location', 'content-location', 'origin', 'x-original-url']);

/** Secrets recognisable by their shape alone. */
/**
 * Secret-shaped values, each with a test that is true whenever the pattern can match (a literal it needs,
 * or the whitespace after a scheme word): running the three patterns over every header and body of every
 * span was a third of a span's redaction, and most strings fail the cheap test.
 */
const BUILT_IN_VALUE_PATTERNS: ValuePattern[] = [
  { re: /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, mayMatch: (s) => s.includes('eyJ') }, // JWT
  {
    re: /\b(Bearer|Basic|Digest|Negotiate|Token)\s+[A-Za-z0-9._~+/=-]{6,}/gi,
    mayMatch: (s) => WHITESPACE.test(s),
  },
  {
    re: /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, // AWS access key id
    mayMatch: (s) => s.includes('AKIA') || s.includes('ASIA'),
  },
];
const WHITESPACE = /\s/;

interface ValuePattern {
  re: RegExp;
  /** False only when `re` cannot match `s`. */
  mayMatch?: (s: string) => boolean;
}

export class Redactor {
  private readonly cfg: RedactionConfig;
  private readonly headers: Set<string>;
  private readonly keys: string[];
  private readonly valuePatterns: ValuePattern[];
  private readonly fallback: RegExp;
  private readonly keyVerdicts = new Map<string, boolean>();

  constructor(cfg: Partial<RedactionConfig> = {}) {
    this.cfg = { ...DEFAULT_REDACTION_CONFIG, ...cfg };
    this.headers = new Set(this.cfg.sensitiveHeaders.map((h) => h.toLowerCase()));
    this.keys = this.cfg.sensitiveKeys.map(normaliseKey).filter((k) => k.length > 0);
    this.valuePatterns = [
      ...BUILT_IN_VALUE_PATTERNS,
      ...this.cfg.valuePatterns.map((p, i) => {
        try {
          return { re: new RegExp(p, 'g') };
        } catch (err) {
          throw new Error(`cannot compile redaction pattern ${i} (${p}): ${(err as Error).message}`);
        }
      }),
    ];
    // key = value / key: value in text that is neither JSON nor a form (logs, protocol text).
    const alt = this.keys.map((k) => [...k].map(escapeRegExp).join('[-_.]?')).join('|');
    this.fallback = new RegExp(
      String.raw`([A-Za-z0-9_.-]*(?:${alt})[A-Za-z0-9_.-]*["']?\s*[=:]\s*)("[^"]*"?|'[^']*'?|[^\s&,;]+)`,
      'gi',
    );
  }

  get replacement(): string {
    return this.cfg.replacement;
  }

  isSensitiveKey(key: string): boolean {
    // Bodies of one service repeat the same few keys: the verdict is memoised (bounded) because
    // normalising and matching every key of every sampled body was most of a span's cost.
    const known = this.keyVerdicts.get(key);
    if (known !== undefined) return known;
    const k = normaliseKey(key);
    let sensitive = false;
    for (const s of this.keys) if (k.includes(s)) sensitive = true;
    if (this.keyVerdicts.size >= 4096) this.keyVerdicts.clear();
    if (key.length <= 128) this.keyVerdicts.set(key, sensitive);
    return sensitive;
  }

  isSensitiveHeader(name: string): boolean {
    const n = name.toLowerCase();
    return this.headers.has(n) || this.isSensitiveKey(n);
  }

  /** Header name (as sent) -> its lower-case form and what to do with its value; bounded like keyVerdicts. */
  private readonly headerVerdicts = new Map<string, { lower: string; kind: 'secret' | 'url' | 'value' }>();

  private headerVerdict(name: string): { lower: string; kind: 'secret' | 'url' | 'value' } {
    let v = this.headerVerdicts.get(name);
    if (v === undefined) {
      const lower = name.toLowerCase();
      v = {
        lower,
        kind: this.isSensitiveHeader(lower) ? 'secret' : URL_HEADERS.has(lower) ? 'url' : 'value',
      };
      if (this.headerVerdicts.size >= 4096) this.headerVerdicts.clear();
      if (name.length <= 128) this.headerVerdicts.set(name, v);
    }
    return v;
  }

  /** A new, bounded header map with sensitive values replaced. */
  headersOf(h: Record<string, string> | undefined): Record<string, string> | undefined {
    if (!h) return undefined;
    const out: Record<string, string> = {};
    let n = 0;
    for (const name in h) {
      if (n++ >= this.cfg.maxHeaders) break;
      const value = h[name]!;
      const { lower, kind } = this.headerVerdict(name);
      const v =
        kind === 'secret' ? this.cfg.replacement : kind === 'url' ? this.url(value) : this.values(value);
      out[lower] = v.length > this.cfg.maxHeaderValueChars ? v.slice(0, this.cfg.maxHeaderValueChars) : v;
    }
    return out;
  }

  /** A URL or request target with userinfo and the values of sensitive query keys redacted. */
  url(u: string): string {
    let s = u.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@?#]*@/i, `$1${this.cfg.replacement}@`);
    const q = s.indexOf('?');
    if (q >= 0) {
      const hash = s.indexOf('#', q);
      const end = hash < 0 ? s.length : hash;
      s = s.slice(0, q + 1) + this.form(s.slice(q + 1, end)) + s.slice(end);
    }
    return this.values(s);
  }

  /** A bounded, redacted body prefix. `contentType` helps pick the format; the content decides otherwise. */
  body(body: string | undefined, contentType = ''): string | undefined {
    if (body === undefined) return undefined;
    const b = body.length > this.cfg.maxBodyChars ? body.slice(0, this.cfg.maxBodyChars) : body;
    const t = b.trimStart();
    let out: string;
    if (contentType.includes('json') || t.startsWith('{') || t.startsWith('[')) out = this.json(b);
    else if (contentType.includes('x-www-form-urlencoded') || /^[\w.%[\]-]+=[^\s]*(&|$)/.test(t))
      out = this.form(b);
    else out = b.replace(this.fallback, (_m, k: string) => `${k}${this.cfg.replacement}`);
    return this.values(out);
  }

  /** `a=1&password=x` -> `a=1&password=[REDACTED]`. Keys are compared after percent-decoding. */
  form(s: string): string {
    return s
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        if (eq < 0) return pair;
        return this.isSensitiveKey(safeDecode(pair.slice(0, eq)))
          ? `${pair.slice(0, eq + 1)}${this.cfg.replacement}`
          : pair;
      })
      .join('&');
  }

  /** Redacts values of sensitive keys in JSON text, complete or truncated. */
  json(s: string): string {
    const out: string[] = [];
    let copied = 0;
    let i = 0;
    const n = s.length;
    while (i < n) {
      i = s.indexOf('"', i); // jump to the next string: most characters are not
      if (i < 0) break;
      const end = stringEnd(s, i);
      const key = end <= n ? s.slice(i + 1, end - 1) : '';
      let j = end;
      while (j < n && isSpace(s.charCodeAt(j))) j++;
      if (j >= n || s.charCodeAt(j) !== COLON) {
        i = end; // a string value, not a key
        continue;
      }
      j++;
      while (j < n && isSpace(s.charCodeAt(j))) j++;
      if (!this.isSensitiveKey(key.includes('\\') ? decodeJsonString(key) : key)) {
        i = j;
        continue;
      }
      const valueEnd = jsonValueEnd(s, j);
      out.push(s.slice(copied, j), JSON.stringify(this.cfg.replacement));
      copied = valueEnd;
      i = valueEnd;
    }
    out.push(s.slice(copied));
    return out.join('');
  }

  /** Replaces values that are secrets by their look. */
  values(s: string): string {
    let out = s;
    for (const p of this.valuePatterns) {
      if (p.mayMatch !== undefined && !p.mayMatch(out)) continue;
      p.re.lastIndex = 0;
      out = out.replace(p.re, this.cfg.replacement);
    }
    return out;
  }
}

function normaliseKey(k: string): string {
  return k.toLowerCase().replace(/[-_.\s]/g, '');
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function decodeJsonString(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

// Character codes: the scanner compares codes, not one-character strings.
const COLON = 58;
const QUOTE = 34;
const BACKSLASH = 92;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** Index after the closing quote of the string starting at `i`; past the end when unterminated. */
function stringEnd(s: string, i: number): number {
  let j = i + 1;
  const n = s.length;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === BACKSLASH) j += 2;
    else if (c === QUOTE) return j + 1;
    else j++;
  }
  return n + 1;
}

/** Index after the JSON value starting at `i` (string, object, array, number, literal); the end if cut. */
function jsonValueEnd(s: string, i: number): number {
  const n = s.length;
  const c = s[i];
  if (c === '"') return Math.min(stringEnd(s, i), n);
  if (c === '{' || c === '[') {
    let depth = 0;
    let j = i;
    while (j < n) {
      const d = s[j]!;
      if (d === '"') {
        j = stringEnd(s, j);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return n;
  }
  let j = i;
  while (j < n && !/[,}\]\s]/.test(s[j]!)) j++;
  return j;
}
