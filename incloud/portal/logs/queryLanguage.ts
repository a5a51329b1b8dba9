/**
 * The logs query language, parsed into a small AST. Terms are separated by spaces and all must match (AND):
 *
 *   error                    free text, case-insensitive substring of the body
 *   "connection refused"     a quoted phrase (\" and \\ escape inside quotes)
 *   service:checkout         a field equals a value; `service:check*` is a prefix match
 *   severity:"ERROR"         quoted values may hold spaces and colons
 *   attr.http.method:GET     a log attribute; `resource.k8s.pod.name:web-1` a resource attribute
 *   attr.user_id:*           the attribute is present
 *   -service:db  -timeout    a leading `-` negates a term
 *
 * The time range is not part of the text: it comes with the request (the UI's shared time picker).
 * Text that contains `:` but is not a field (a URL, `ERROR:`) must be quoted; an unknown field is an error
 * rather than a silent text search, so a typo does not quietly match nothing.
 */

export type LogTerm =
  | { type: 'text'; value: string; negated: boolean }
  | {
      type: 'field';
      field: LogField;
      /** Attribute key for `attr.` and `resource.` fields. */
      key?: string;
      /** Empty with `exists`. */
      value: string;
      match: 'equals' | 'prefix' | 'exists';
      negated: boolean;
    };

export interface LogQuery {
  terms: LogTerm[];
}

/** Plain fields (the `attr.` and `resource.` prefixes come on top). compile.ts maps each to a column. */
export const LOG_FIELDS = [
  'service',
  'severity',
  'body',
  'trace_id',
  'span_id',
  'scope',
  'namespace',
  'pod',
  'container',
  'node',
  'host',
] as const;
export type LogField = (typeof LOG_FIELDS)[number] | 'attr' | 'resource';

export const QUERY_LIMITS = { maxTerms: 20, maxValueLength: 512 };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ATTRIBUTE_KEY = /^[A-Za-z0-9_.\-/]{1,128}$/;

export class LogQueryError extends Error {
  constructor(column: number, problem: string) {
    super(`cannot parse logs query at column ${column}: ${problem}`);
    this.name = 'LogQueryError';
  }
}

export function parseLogQuery(input: string): LogQuery {
  const terms: LogTerm[] = [];
  let i = 0;
  const n = input.length;
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

  const readQuoted = (): string => {
    const open = i;
    i++; // opening quote
    let out = '';
    while (i < n) {
      const c = input[i]!;
      if (c === '\\' && i + 1 < n) {
        out += input[i + 1];
        i += 2;
        continue;
      }
      if (c === '"') {
        i++;
        if (i < n && !isSpace(input[i]))
          throw new LogQueryError(i + 1, 'a space must follow a closing quote');
        return out;
      }
      out += c;
      i++;
    }
    throw new LogQueryError(open + 1, 'unterminated quote');
  };
  const readBare = (): string => {
    const from = i;
    while (i < n && !isSpace(input[i])) {
      if (input[i] === '"')
        throw new LogQueryError(i + 1, 'a quote inside a word; put the whole value in quotes');
      i++;
    }
    return input.slice(from, i);
  };
  const checkValue = (value: string, column: number) => {
    if (value.length > QUERY_LIMITS.maxValueLength)
      throw new LogQueryError(column, `a value is longer than ${QUERY_LIMITS.maxValueLength} characters`);
  };

  while (i < n) {
    if (isSpace(input[i])) {
      i++;
      continue;
    }
    const column = i + 1;
    if (terms.length >= QUERY_LIMITS.maxTerms)
      throw new LogQueryError(column, `more than ${QUERY_LIMITS.maxTerms} terms`);
    let negated = false;
    if (input[i] === '-' && i + 1 < n && !isSpace(input[i + 1])) {
      negated = true;
      i++;
    }
    if (input[i] === '"') {
      const value = readQuoted();
      checkValue(value, column);
      if (value.length === 0) throw new LogQueryError(column, 'an empty phrase');
      terms.push({ type: 'text', value, negated });
      continue;
    }
    const start = i;
    while (i < n && !isSpace(input[i]) && input[i] !== ':' && input[i] !== '"') i++;
    if (input[i] !== ':') {
      i = start;
      const value = readBare();
      checkValue(value, column);
      terms.push({ type: 'text', value, negated });
      continue;
    }
    const name = input.slice(start, i);
    i++; // ':'
    const field = parseFieldName(name, column);
    if (i >= n || isSpace(input[i])) throw new LogQueryError(column, `no value after ${name}:`);
    const quoted = input[i] === '"';
    let value = quoted ? readQuoted() : readBare();
    checkValue(value, column);
    let match: 'equals' | 'prefix' | 'exists' = 'equals';
    if (!quoted && value === '*') {
      if (field.key === undefined)
        throw new LogQueryError(column, `${name}:* works for attr. and resource. fields only`);
      match = 'exists';
      value = '';
    } else if (!quoted && value.endsWith('*')) {
      match = 'prefix';
      value = value.slice(0, -1);
    }
    terms.push({ type: 'field', ...field, value, match, negated });
  }
  return { terms };
}

function parseFieldName(name: string, column: number): { field: LogField; key?: string } {
  for (const prefix of ['attr', 'resource'] as const) {
    if (name.startsWith(`${prefix}.`)) {
      const key = name.slice(prefix.length + 1);
      if (!ATTRIBUTE_KEY.test(key))
        throw new LogQueryError(
          column,
          `attribute key ${JSON.stringify(key)} has characters other than A-Z a-z 0-9 _ . - /`,
        );
      return { field: prefix, key };
    }
  }
  const lower = name.toLowerCase();
  if (NAME.test(name) && (LOG_FIELDS as readonly string[]).includes(lower))
    return { field: lower as LogField };
  throw new LogQueryError(
    column,
    `unknown field ${JSON.stringify(name.slice(0, 64))} (fields: ${LOG_FIELDS.join(', ')}, attr.<key>, resource.<key>; quote text that contains ':')`,
  );
}
