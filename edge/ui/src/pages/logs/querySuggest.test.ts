import { describe, expect, it } from 'vitest';
import {
  applySuggestion,
  type KnownValues,
  learnValues,
  quoteValue,
  suggest,
  termAt,
  withTerm,
} from './querySuggest.ts';

const known = (): KnownValues => {
  const k: KnownValues = new Map();
  learnValues(k, [
    {
      service: 'checkout',
      severity: 'ERROR',
      attributes: { 'http.method': 'POST' },
      resource: { 'k8s.pod.name': 'checkout-1', 'k8s.namespace.name': 'shop' },
    },
    { service: 'payments', severity: 'INFO', attributes: {}, resource: { 'k8s.pod.name': 'pay 1' } },
    { service: 'checkout', severity: 'INFO', attributes: {}, resource: {} },
  ]);
  return k;
};

describe('logs query suggestions', () => {
  it('learns values per field, most recent first, without repeats', () => {
    const k = known();
    expect(k.get('service')).toEqual(['checkout', 'payments']);
    expect(k.get('severity')).toEqual(['INFO', 'ERROR']);
    expect(k.get('pod')).toEqual(['pay 1', 'checkout-1']);
    expect(k.get('resource.k8s.namespace.name')).toEqual(['shop']);
    expect(k.get('attr.http.method')).toEqual(['POST']);
  });

  it('finds the term at the caret, spaces inside quotes included', () => {
    expect(termAt('service:a sev', 13)).toEqual({ from: 10, to: 13, text: 'sev' });
    expect(termAt('"a b" pod:"x y', 14)).toEqual({ from: 6, to: 14, text: 'pod:"x y' });
    expect(termAt('abc def', 2)).toEqual({ from: 0, to: 3, text: 'ab' });
  });

  it('suggests field names for a bare word, attribute keys included', () => {
    const s = suggest('timeout se', 10, known());
    expect(s.from).toBe(8);
    expect(s.items.map((i) => i.label)).toContain('service:');
    expect(s.items[0]!.label).toBe('service:'); // prefix matches first
    expect(suggest('attr.', 5, known()).items.map((i) => i.label)).toEqual(['attr.http.method:']);
  });

  it('suggests values after a colon, quoted when needed, keeping a negation', () => {
    const s = suggest('-pod:pa', 7, known());
    expect(s.items.map((i) => i.insert)).toEqual(['-pod:"pay 1" ']);
    const v = suggest('service:', 8, known());
    expect(v.items.map((i) => i.label)).toEqual(['checkout', 'payments']);
  });

  it('applies a suggestion in the middle of a query', () => {
    const input = 'error serv timeout';
    const s = suggest(input, 10, known());
    const item = s.items.find((i) => i.label === 'service:')!;
    expect(applySuggestion(input, s, item)).toEqual({ text: 'error service: timeout', caret: 14 });
  });

  it('quotes values with spaces, quotes, colons, a leading dash or a trailing star', () => {
    expect(quoteValue('web-1')).toBe('web-1');
    expect(quoteValue('a b')).toBe('"a b"');
    expect(quoteValue('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteValue('http://x')).toBe('"http://x"');
    expect(quoteValue('-x')).toBe('"-x"');
    expect(quoteValue('abc*')).toBe('"abc*"');
  });

  it('adds filter-for and filter-out terms without repeating them', () => {
    expect(withTerm('', 'service', 'checkout', false)).toBe('service:checkout');
    expect(withTerm('service:checkout', 'service', 'checkout', true)).toBe('-service:checkout');
    expect(withTerm('"a b" x', 'pod', 'p 1', false)).toBe('"a b" x pod:"p 1"');
  });
});
