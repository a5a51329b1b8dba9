/**
 * SQL text -> statement shape: literals become `?`, so `SELECT * FROM t WHERE id = 42 AND name = 'bob'` and
 * the same query with other values are one resource (and no literal - a password, an e-mail - leaves the
 * sensor in a label). One pass over the characters, no parser: it must never throw on the truncated or odd
 * SQL a capture yields, and unknown syntax passes through.
 *
 * - strings ('..' with '' and backslash escapes, E'..', N'..', X'..', B'..', PostgreSQL $tag$..$tag$) -> ?
 * - numbers (integers, decimals, exponents, 0x hex) that are not part of an identifier -> ?
 * - `"..."` is an identifier (kept) unless `doubleQuotedStrings` (MySQL's default mode) -> ?
 * - comments dropped, whitespace collapsed
 * - lists: `IN (?, ?, ?)` -> `IN (?)`, `VALUES (?, ?), (?, ?)` -> `VALUES (?, ?)`
 * - bind parameters ($1, ?, :name) are kept: they are already placeholders.
 */
export interface SqlShapeOptions {
  doubleQuotedStrings?: boolean;
  /** Output is cut at this many characters (a long statement is still one resource). */
  maxLength?: number;
}

// Character classes by code (a regex test per character costs several times more on this hot path).
const isDigit = (c: number) => c >= 48 && c <= 57;
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95; // A-Z a-z _
const isIdent = (c: number) => isLetter(c) || isDigit(c) || c === 36; // ... and $
const isHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const PREFIXES = new Set([69, 101, 78, 110, 88, 120, 66, 98]); // E e N n X x B b before a quote

export function sqlShape(sql: string, opts: SqlShapeOptions = {}): string {
  let out = '';
  const n = sql.length;
  let i = 0;
  let space = false;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      space = true;
      i++;
    } else if (c === 45 && next === 45) {
      i = lineEnd(sql, i); // -- comment
      space = true;
    } else if (c === 47 && next === 42) {
      const end = sql.indexOf('*/', i + 2); // /* comment */
      i = end < 0 ? n : end + 2;
      space = true;
    } else if (c === 39) {
      i = quotedEnd(sql, i, "'");
      out = appendToken(out, space, '?');
      space = false;
    } else if (c === 34 && opts.doubleQuotedStrings) {
      i = quotedEnd(sql, i, '"');
      out = appendToken(out, space, '?');
      space = false;
    } else if (c === 34 || c === 96) {
      const end = quotedEnd(sql, i, sql[i]!); // "identifier" or `identifier`
      out = appendToken(out, space, sql.slice(i, end));
      space = false;
      i = end;
    } else if (c === 36 && next !== -1 && !isDigit(next)) {
      let j = i + 1;
      while (j < n && j - i < 64 && isLetter(sql.charCodeAt(j))) j++;
      if (j < n && sql.charCodeAt(j) === 36) {
        const tag = sql.slice(i, j + 1); // $tag$ ... $tag$
        const end = sql.indexOf(tag, j + 1);
        i = end < 0 ? n : end + tag.length;
        out = appendToken(out, space, '?');
        space = false;
      } else {
        out = appendToken(out, space, '$');
        space = false;
        i++;
      }
    } else if (PREFIXES.has(c) && next === 39 && !(i > 0 && isIdent(sql.charCodeAt(i - 1)))) {
      i = quotedEnd(sql, i + 1, "'"); // E'..', N'..', X'..', B'..'
      out = appendToken(out, space, '?');
      space = false;
    } else if (isDigit(c) || (c === 46 && isDigit(next))) {
      const end = numberEnd(sql, i);
      const joined = (i > 0 && isIdent(sql.charCodeAt(i - 1))) || (end < n && isLetter(sql.charCodeAt(end)));
      out = appendToken(out, space, joined ? sql.slice(i, end) : '?');
      space = false;
      i = end;
    } else if (isIdent(c)) {
      let end = i + 1;
      while (end < n && isIdent(sql.charCodeAt(end))) end++;
      out = appendToken(out, space, sql.slice(i, end));
      space = false;
      i = end;
    } else {
      // Punctuation: no space before `,` `)` and none after `(` `.`, so lists have one spelling.
      if (c === 44 || c === 41) space = false;
      out = appendToken(out, space, sql[i]!);
      space = false;
      if (c === 40 || c === 46) space = false;
      if (c === 44) space = true;
      i++;
    }
  }
  let shape = out.includes('(') ? collapseLists(out) : out;
  if (opts.maxLength !== undefined && shape.length > opts.maxLength) shape = shape.slice(0, opts.maxLength);
  return shape;
}

/** `out` + `token`, with one space between when the statement had whitespace there (not at the start). */
function appendToken(out: string, space: boolean, token: string): string {
  return space && out.length > 0 ? `${out} ${token}` : out + token;
}

/** End of a numeric literal: 0x hex, or digits with an optional fraction and exponent. */
function numberEnd(s: string, i: number): number {
  const n = s.length;
  if (
    s.charCodeAt(i) === 48 &&
    (s[i + 1] === 'x' || s[i + 1] === 'X') &&
    i + 2 < n &&
    isHex(s.charCodeAt(i + 2))
  ) {
    let j = i + 2;
    while (j < n && isHex(s.charCodeAt(j))) j++;
    return j;
  }
  let j = i;
  while (j < n && isDigit(s.charCodeAt(j))) j++;
  if (j < n && s.charCodeAt(j) === 46 && j + 1 < n && isDigit(s.charCodeAt(j + 1))) {
    j++;
    while (j < n && isDigit(s.charCodeAt(j))) j++;
  }
  if (j < n && (s[j] === 'e' || s[j] === 'E')) {
    let k = j + 1;
    if (s[k] === '+' || s[k] === '-') k++;
    if (k < n && isDigit(s.charCodeAt(k))) {
      while (k < n && isDigit(s.charCodeAt(k))) k++;
      j = k;
    }
  }
  return j;
}

function lineEnd(s: string, i: number): number {
  const end = s.indexOf('\n', i);
  return end < 0 ? s.length : end + 1;
}

/** Index after the closing quote; doubled quotes and backslash escapes stay inside. Unterminated: the end. */
function quotedEnd(s: string, start: number, q: string): number {
  let i = start + 1;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\') i += 2;
    else if (c === q) {
      if (s[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return s.length;
}

function collapseLists(shape: string): string {
  // IN (?, ?, ?) -> IN (?): the number of values is not part of the statement's identity.
  let s = shape.replace(IN_LIST, '$1 (?)');
  // VALUES (..), (..), (..) -> VALUES (..): a multi-row insert is the same statement as a one-row one.
  s = s.replace(VALUES_TUPLES, '$1 $2');
  return s;
}

const IN_LIST = /\b(IN) \((?:\?|\$\d+)(?:, (?:\?|\$\d+))*\)/gi;
const TUPLE = String.raw`\((?:[^()]|\([^()]*\))*\)`;
/** Compiled once (it was built per statement); `replace` starts a global pattern from 0 every time. */
const VALUES_TUPLES = new RegExp(String.raw`\b(VALUES) (${TUPLE})(?:, ${TUPLE})+`, 'gi');
