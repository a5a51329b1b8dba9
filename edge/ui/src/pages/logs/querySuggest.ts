/**
 * Suggestions for the logs query language (incloud/portal/logs/queryLanguage.ts): at the caret, either field
 * names (`service:`, `attr.http.method:`, ...) or the values a field has shown in recent results. Pure
 * functions; the input component decides when to show them.
 */

/** The portal's plain fields (queryLanguage.ts LOG_FIELDS), with what each matches, for the help and the list. */
export const LOG_FIELDS: { name: string; help: string }[] = [
  { name: 'service', help: 'service name' },
  { name: 'severity', help: 'INFO, WARN, ERROR... (any case)' },
  { name: 'namespace', help: 'Kubernetes namespace' },
  { name: 'pod', help: 'pod name' },
  { name: 'container', help: 'container name' },
  { name: 'node', help: 'node name' },
  { name: 'host', help: 'host name' },
  { name: 'trace_id', help: 'trace id' },
  { name: 'span_id', help: 'span id' },
  { name: 'scope', help: 'instrumentation scope' },
  { name: 'body', help: 'the whole line, exactly' },
];

/** Values seen per field (`service`, `attr.user_id`, `resource.k8s.pod.name`), most recent first, bounded. */
export type KnownValues = Map<string, string[]>;

export const MAX_VALUES_PER_FIELD = 50;
export const MAX_KNOWN_FIELDS = 200;

const FIELD_OF_RESOURCE: Record<string, string> = {
  'k8s.namespace.name': 'namespace',
  'k8s.pod.name': 'pod',
  'k8s.container.name': 'container',
  'k8s.node.name': 'node',
  'host.name': 'host',
};

/** Adds the fields of some log rows to `known` (in place). Values longer than 200 characters are not kept. */
export function learnValues(
  known: KnownValues,
  rows: readonly {
    service: string;
    severity: string;
    attributes: Record<string, string>;
    resource: Record<string, string>;
  }[],
): void {
  const add = (field: string, value: string) => {
    if (!value || value.length > 200) return;
    let list = known.get(field);
    if (!list) {
      if (known.size >= MAX_KNOWN_FIELDS) return;
      list = [];
      known.set(field, list);
    }
    const at = list.indexOf(value);
    if (at === 0) return;
    if (at > 0) list.splice(at, 1);
    list.unshift(value);
    if (list.length > MAX_VALUES_PER_FIELD) list.length = MAX_VALUES_PER_FIELD;
  };
  for (const r of rows) {
    add('service', r.service);
    add('severity', r.severity);
    for (const [k, v] of Object.entries(r.resource)) {
      const field = FIELD_OF_RESOURCE[k];
      if (field) add(field, v);
      add(`resource.${k}`, v);
    }
    for (const [k, v] of Object.entries(r.attributes)) add(`attr.${k}`, v);
  }
}

export interface Suggestion {
  /** What the list shows. */
  label: string;
  /** Replaces the text of the term at the caret. */
  insert: string;
  detail?: string;
}

export interface Suggestions {
  /** The range of the input the chosen suggestion replaces. */
  from: number;
  to: number;
  items: Suggestion[];
}

const MAX_ITEMS = 12;

/** A value as the language wants it: bare when it is a plain word, else quoted with `"` and `\` escaped. */
export function quoteValue(v: string): string {
  if (/^[^\s":*-][^\s":]*$/.test(v) && !v.endsWith('*')) return v;
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The term the caret is in: from after the last unquoted space before the caret to the next space. */
export function termAt(input: string, caret: number): { from: number; to: number; text: string } {
  let from = 0;
  let quoted = false;
  for (let i = 0; i < caret; i++) {
    const c = input[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ' ' || c === '\t')) from = i + 1;
  }
  let to = caret;
  while (to < input.length && input[to] !== ' ' && input[to] !== '\t') to++;
  return { from, to, text: input.slice(from, caret) };
}

export function suggest(input: string, caret: number, known: KnownValues): Suggestions {
  const term = termAt(input, caret);
  const negated = term.text.startsWith('-');
  const sign = negated ? '-' : '';
  const text = negated ? term.text.slice(1) : term.text;
  const colon = text.indexOf(':');
  if (colon >= 0) {
    const field = text.slice(0, colon);
    const typed = text
      .slice(colon + 1)
      .replace(/^"/, '')
      .toLowerCase();
    // Attribute keys are case-sensitive; plain field names are not.
    const values = known.get(field) ?? known.get(field.toLowerCase()) ?? [];
    const items = values
      .filter((v) => v.toLowerCase().includes(typed))
      .sort((a, b) => rank(a, typed) - rank(b, typed))
      .slice(0, MAX_ITEMS)
      .map((v) => ({ label: v, insert: `${sign}${field}:${quoteValue(v)} `, detail: field }));
    return { from: term.from, to: term.to, items };
  }
  const typed = text.toLowerCase();
  const fields: Suggestion[] = LOG_FIELDS.map((f) => ({
    label: `${f.name}:`,
    insert: `${sign}${f.name}:`,
    detail: f.help,
  }));
  for (const k of known.keys()) {
    if (k.startsWith('attr.') || k.startsWith('resource.'))
      fields.push({
        label: `${k}:`,
        insert: `${sign}${k}:`,
        detail: k.startsWith('attr.') ? 'log attribute' : 'resource attribute',
      });
  }
  const items = typed
    ? fields
        .filter((f) => f.label.toLowerCase().includes(typed))
        .sort((a, b) => rank(a.label, typed) - rank(b.label, typed))
    : fields;
  return { from: term.from, to: term.to, items: items.slice(0, MAX_ITEMS) };
}

/** Prefix matches first, then the rest in their order. */
function rank(value: string, typed: string): number {
  return value.toLowerCase().startsWith(typed) ? 0 : 1;
}

/** Applies a suggestion: the new text and the caret after it. */
export function applySuggestion(
  input: string,
  s: Suggestions,
  item: Suggestion,
): { text: string; caret: number } {
  const after = input.slice(s.to).replace(/^ +/, '');
  const text =
    input.slice(0, s.from) + item.insert + (after ? (item.insert.endsWith(' ') ? '' : ' ') + after : '');
  return { text, caret: s.from + item.insert.length };
}

/**
 * The query with one more `field:value` term (or its negation) - used by "filter for / filter out" on a
 * log line. An existing identical term is not repeated; its opposite is replaced.
 */
export function withTerm(query: string, field: string, value: string, negated: boolean): string {
  const term = `${field}:${quoteValue(value)}`;
  const parts = query.trim() ? query.trim().split(/\s+(?=(?:[^"]*"[^"]*")*[^"]*$)/) : [];
  const kept = parts.filter((p) => p !== term && p !== `-${term}`);
  kept.push(negated ? `-${term}` : term);
  return kept.join(' ');
}
