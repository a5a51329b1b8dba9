import { describe, expect, it } from 'vitest';
import { compileLogFilter } from './compile.ts';
import { parseLogQuery } from './queryLanguage.ts';

describe('logs query language', () => {
  it.each([
    ['', []],
    ['timeout', [{ type: 'text', value: 'timeout', negated: false }]],
    ['-timeout', [{ type: 'text', value: 'timeout', negated: true }]],
    ['"a b:c"', [{ type: 'text', value: 'a b:c', negated: false }]],
    ['"say \\"hi\\""', [{ type: 'text', value: 'say "hi"', negated: false }]],
    ['-', [{ type: 'text', value: '-', negated: false }]],
    ['service:web', [{ type: 'field', field: 'service', value: 'web', match: 'equals', negated: false }]],
    ['SERVICE:web*', [{ type: 'field', field: 'service', value: 'web', match: 'prefix', negated: false }]],
    [
      '-severity:"ERROR"',
      [{ type: 'field', field: 'severity', value: 'ERROR', match: 'equals', negated: true }],
    ],
    ['service:"web*"', [{ type: 'field', field: 'service', value: 'web*', match: 'equals', negated: false }]],
    [
      'attr.http.method:GET',
      [{ type: 'field', field: 'attr', key: 'http.method', value: 'GET', match: 'equals', negated: false }],
    ],
    [
      'resource.k8s.pod.name:*',
      [{ type: 'field', field: 'resource', key: 'k8s.pod.name', value: '', match: 'exists', negated: false }],
    ],
    [
      '  a   b  ',
      [
        { type: 'text', value: 'a', negated: false },
        { type: 'text', value: 'b', negated: false },
      ],
    ],
  ])('parses %j', (input, terms) => {
    expect(parseLogQuery(input).terms).toEqual(terms);
  });

  it.each([
    ['"open', 'column 1: unterminated quote'],
    ['a "b"c', 'column 6: a space must follow a closing quote'],
    ['ab"c', 'a quote inside a word'],
    ['service:', 'no value after service:'],
    ['service:*', 'works for attr. and resource. fields only'],
    ['url:http://x', 'unknown field "url"'],
    ['attr.:x', 'attribute key ""'],
  ])('refuses %j: %s', (input, message) => {
    expect(() => parseLogQuery(input)).toThrow(message);
  });

  it('compiles to SQL that holds no user text, only bound parameters', () => {
    const evil = "x' OR 1=1 --";
    const { where, params } = compileLogFilter(
      parseLogQuery(`service:"${evil}" attr.k:"${evil}" "${evil}" -body:${evil.replaceAll(' ', '_')}`),
      { startMs: 1, endMs: 2 },
    );
    expect(where).not.toContain("'1");
    expect(where).not.toContain('OR 1=1');
    expect(where).toContain('ServiceName = {p0:String}');
    expect(where).toContain('LogAttributes[{k1:String}] = {p1:String}');
    expect(where).toContain('NOT (positionCaseInsensitiveUTF8(Body, {p3:String}) > 0)');
    expect(params).toMatchObject({ p0: evil, k1: 'k', p1: evil, p2: evil, startMs: 1, endMs: 2 });
  });
});
