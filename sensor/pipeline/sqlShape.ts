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

const IDENT = /[A-Za-z0-9_$]/;
const DIGIT = /[0-9]/;

export function sqlShape(sql: string, opts: SqlShapeOptions = {}): string {
  const out: string[] = [];
  const n = sql.length;
  let i = 0;
  let space = false;
  const emit = (s: string) => {
    if (space && out.length > 0) out.push(' ');
    space = false;
    out.push(s);
  };
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      space = true;
      i++;
    } else if (c === '-' && next === '-') {
      i = lineEnd(sql, i);
      space = true;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      space = true;
    } else if (c === "'") {
      i = quotedEnd(sql, i, "'");
      emit('?');
    } else if (c === '"' && opts.doubleQuotedStrings) {
      i = quotedEnd(sql, i, '"');
      emit('?');
    } else if (c === '"' || c === '`') {
      const end = quotedEnd(sql, i, c);
      emit(sql.slice(i, end));
      i = end;
    } else if (c === '$' && next !== undefined && !DIGIT.test(next)) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? n : end + tag[0].length;
        emit('?');
      } else {
        emit(c);
        i++;
      }
    } else if (/[EeNnXxBb]/.test(c) && next === "'" && !(i > 0 && IDENT.test(sql[i - 1]!))) {
      i = quotedEnd(sql, i + 1, "'"); // E'..', N'..', X'..', B'..'
      emit('?');
    } else if (DIGIT.test(c) || (c === '.' && next !== undefined && DIGIT.test(next))) {
      const m = /^(0[xX][0-9A-Fa-f]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)/.exec(sql.slice(i, i + 128))!;
      const end = i + m[0].length;
      const joined = (i > 0 && IDENT.test(sql[i - 1]!)) || (end < n && /[A-Za-z_]/.test(sql[end]!));
      emit(joined ? sql.slice(i, end) : '?');
      i = end;
    } else if (IDENT.test(c)) {
      let end = i + 1;
      while (end < n && IDENT.test(sql[end]!)) end++;
      emit(sql.slice(i, end));
      i = end;
    } else {
      // Punctuation: no space before `,` `)` and none after `(`, so lists have one spelling.
      if (c === ',' || c === ')') space = false;
      emit(c);
      if (c === '(' || c === '.') space = false;
      if (c === ',') space = true;
      i++;
    }
  }
  let shape = collapseLists(out.join(''));
  if (opts.maxLength !== undefined && shape.length > opts.maxLength) shape = shape.slice(0, opts.maxLength);
  return shape;
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
  let s = shape.replace(/\b(IN) \((?:\?|\$\d+)(?:, (?:\?|\$\d+))*\)/gi, '$1 (?)');
  // VALUES (..), (..), (..) -> VALUES (..): a multi-row insert is the same statement as a one-row one.
  const tuple = String.raw`\((?:[^()]|\([^()]*\))*\)`;
  s = s.replace(new RegExp(String.raw`\b(VALUES) (${tuple})(?:, ${tuple})+`, 'gi'), '$1 $2');
  return s;
}
