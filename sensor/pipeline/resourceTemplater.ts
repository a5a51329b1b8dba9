import type { ProtocolName } from '../protocols/contract.ts';
import { sqlShape } from './sqlShape.ts';

/**
 * Turns an API call's resource into a low-cardinality template before it becomes a metric label:
 * `/users/123/orders/9f1c0d2e...` -> `/users/{id}/orders/{id}`, SQL -> its statement shape, Redis keys and
 * NATS subjects segment by segment. Then caps the distinct templates per workload: past `maxPerWorkload`
 * a new template is reported as `overflowValue` (the ingester's overflow value, so both stages agree).
 *
 * Called only from the event loop. Memory: at most `maxPerWorkload` strings per workload, and at most
 * `maxWorkloads` workloads (a new workload past that shares the overflow).
 */
export interface TemplateRule {
  /** A regular expression matched against the whole resource (after the query string is removed). */
  pattern: string;
  /** Replacement (`$1` etc. allowed). Applied before the built-in segment rules. */
  replacement: string;
  /** Limit to these protocols; all when absent. */
  protocols?: ProtocolName[];
}

export interface ResourceTemplaterConfig {
  rules: TemplateRule[];
  maxPerWorkload: number;
  maxWorkloads: number;
  overflowValue: string;
  /** Longer templates are cut (a label value has to stay small). */
  maxLength: number;
  /** Path segments kept; the rest becomes one `{...}` segment. */
  maxSegments: number;
}

export const DEFAULT_TEMPLATER_CONFIG: ResourceTemplaterConfig = {
  rules: [],
  maxPerWorkload: 500,
  maxWorkloads: 2000,
  overflowValue: '__overflow__',
  maxLength: 256,
  maxSegments: 16,
};

export const ID = '{id}';

const NUMBER = /^[+-]?\d+(?:\.\d+)?$/;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const HEX = /^(?:0x)?[0-9a-f]{8,}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const EXTENSION = /^(.+?)(\.[A-Za-z][A-Za-z0-9]{0,5})$/;

/** True when a path/key segment is an identifier value rather than a name. */
export function isIdSegment(seg: string): boolean {
  if (seg.length === 0) return false;
  if (NUMBER.test(seg) || UUID.test(seg) || DATE.test(seg)) return true;
  if (HEX.test(seg) && /\d/.test(seg)) return true; // hex with a digit: "deadbeef" and "facade" stay words
  return isHighEntropy(seg);
}

/**
 * Tokens, base64 ids, slugs with numbers: long, with both letters and digits, and digits not just a short
 * version suffix (`v2`, `oauth2callback` stay).
 */
function isHighEntropy(seg: string): boolean {
  if (seg.length < 12) return false;
  let digits = 0;
  let letters = 0;
  let upper = 0;
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
      letters++;
      if (c <= 90) upper++;
    }
  }
  if (digits === 0 || letters === 0) return digits > 0 && letters === 0 && seg.length >= 12;
  if (digits >= 3) return true;
  // Mixed case with a digit in a long segment: base64/base62 tokens.
  return seg.length >= 16 && upper > 0 && upper < letters;
}

function templateSegment(seg: string): string {
  // Every id form needs a digit (an all-letter UUID is too rare to pay a regex per word for).
  if (!hasDigit(seg)) return seg;
  if (isIdSegment(seg)) return ID;
  const ext = EXTENSION.exec(seg);
  if (ext && isIdSegment(ext[1]!)) return `${ID}${ext[2]}`;
  return seg;
}

function hasDigit(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i;

/**
 * `/a/123/b?x=1#f` -> `/a/{id}/b`. The query string never reaches a label (it may carry secrets).
 * One pass over the segments: only a segment with a digit can be an id, and the result is built only
 * when a segment changes or the path is cut (paths with ids miss the memo, so this runs often).
 */
export function templatePath(path: string, maxSegments = DEFAULT_TEMPLATER_CONFIG.maxSegments): string {
  let p = path;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c === 63 || c === 35 || c === 59) {
      p = p.slice(0, i); // ? # ;
      break;
    }
  }
  // An absolute-form request target (`http://host/x`, sent to proxies): keep only the path.
  if (p.charCodeAt(0) !== 47) {
    const abs = ABSOLUTE_FORM.exec(p);
    if (abs) p = p.slice(abs[0].length) || '/';
  }
  let out = '';
  let copied = 0; // p[0, copied) is in `out` (or unchanged so far when `out` is empty and copied is 0)
  let from = 0;
  for (let pieces = 1; ; pieces++) {
    const slash = p.indexOf('/', from);
    const to = slash < 0 ? p.length : slash;
    if (pieces > maxSegments + 1) {
      // The pieces before this one are kept (their slashes included), the rest is one `{...}`.
      return `${out}${p.slice(copied, from)}{...}`;
    }
    if (hasDigitIn(p, from, to)) {
      const seg = p.slice(from, to);
      const t = templateSegment(seg);
      if (t !== seg) {
        out += p.slice(copied, from) + t;
        copied = to;
      }
    }
    if (slash < 0) break;
    from = slash + 1;
  }
  return copied === 0 ? p : out + p.slice(copied);
}

function hasDigitIn(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/** Redis keys (`user:123:cart`) and NATS/AMQP names (`orders.42.created`): segments on the separators. */
export function templateKey(key: string): string {
  return key
    .split(/([:./])/)
    .map((part, i) => (i % 2 === 1 ? part : templateSegment(part)))
    .join('');
}

export function templateResource(protocol: ProtocolName, resource: string, maxSegments?: number): string {
  switch (protocol) {
    case 'http':
    case 'http2':
    case 'grpc':
      return templatePath(resource, maxSegments);
    case 'postgres':
      return sqlShape(resource);
    case 'mysql':
      return sqlShape(resource, { doubleQuotedStrings: true });
    case 'redis':
    case 'nats':
    case 'amqp':
    case 'kafka':
      return templateKey(resource);
    case 'dns':
      return templateKey(resource);
    case 'mongodb':
      return resource;
  }
}

const SHAPE_MEMO = 4096;
/** Longer raw resources (big SQL statements) are templated every time rather than kept as memo keys. */
const MEMO_MAX_CHARS = 1024;

export class ResourceTemplater {
  private readonly cfg: ResourceTemplaterConfig;
  private readonly rules: { re: RegExp; replacement: string; protocols: Set<ProtocolName> | undefined }[];
  private readonly seen = new Map<string, Set<string>>();
  /** Calls whose template was replaced by the overflow value (for a self-metric). */
  overflowed = 0;

  constructor(cfg: Partial<ResourceTemplaterConfig> = {}) {
    this.cfg = { ...DEFAULT_TEMPLATER_CONFIG, ...cfg };
    if (this.cfg.maxPerWorkload < 1)
      throw new Error('cannot configure templating: maxPerWorkload must be >= 1');
    this.rules = this.cfg.rules.map((r, i) => {
      let re: RegExp;
      try {
        re = new RegExp(r.pattern);
      } catch (err) {
        throw new Error(`cannot compile templating rule ${i} (${r.pattern}): ${(err as Error).message}`);
      }
      return { re, replacement: r.replacement, protocols: r.protocols ? new Set(r.protocols) : undefined };
    });
  }

  /** The template alone, without the cardinality cap. */
  shape(protocol: ProtocolName, resource: string): string {
    let r =
      protocol === 'http' || protocol === 'http2' || protocol === 'grpc' ? stripQuery(resource) : resource;
    for (const rule of this.rules) {
      if (rule.protocols && !rule.protocols.has(protocol)) continue;
      r = r.replace(rule.re, rule.replacement);
    }
    const t = templateResource(protocol, r, this.cfg.maxSegments);
    return t.length > this.cfg.maxLength ? t.slice(0, this.cfg.maxLength) : t;
  }

  /**
   * `shape` memoised: a service's calls repeat the same few raw resources, and templating one (splits,
   * regular expressions, SQL scanning) cost more than the rest of the call's aggregation. Bounded: the
   * memo is emptied when it reaches SHAPE_MEMO entries (raw paths with ids miss it, and only cost a set).
   */
  private readonly shapes = new Map<ProtocolName, Map<string, string>>();
  private memoized = 0;

  private shapeOf(protocol: ProtocolName, resource: string): string {
    if (resource.length > MEMO_MAX_CHARS) return this.shape(protocol, resource);
    // One map per protocol, keyed by the raw resource itself: a `protocol + resource` key was a new
    // string per call, flattened and hashed every time.
    let memo = this.shapes.get(protocol);
    if (memo === undefined) {
      memo = new Map();
      this.shapes.set(protocol, memo);
    }
    let t = memo.get(resource);
    if (t === undefined) {
      t = this.shape(protocol, resource);
      if (this.memoized >= SHAPE_MEMO) {
        for (const m of this.shapes.values()) m.clear();
        this.memoized = 0;
      }
      memo.set(resource, t);
      this.memoized++;
    }
    return t;
  }

  /** The template, or the overflow value once `workload` has `maxPerWorkload` other templates. */
  template(workload: string, protocol: ProtocolName, resource: string): string {
    const t = this.shapeOf(protocol, resource);
    let set = this.seen.get(workload);
    if (!set) {
      if (this.seen.size >= this.cfg.maxWorkloads) {
        this.overflowed++;
        return this.cfg.overflowValue;
      }
      set = new Set();
      this.seen.set(workload, set);
    }
    if (set.has(t)) return t;
    if (set.size >= this.cfg.maxPerWorkload) {
      this.overflowed++;
      return this.cfg.overflowValue;
    }
    set.add(t);
    return t;
  }

  /** Forgets a workload's templates (when it goes away). */
  forget(workload: string): void {
    this.seen.delete(workload);
  }
}

function stripQuery(p: string): string {
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c === 63 || c === 35) return p.slice(0, i); // ? #
  }
  return p;
}
