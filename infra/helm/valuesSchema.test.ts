import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART_DIR } from './chartRender.ts';
import { valuesSchema } from './valuesSchema.ts';

// No rendering here, so a stale schema can be regenerated (UPDATE_GOLDENS=1) even when it breaks every render.
describe('values.schema.json', () => {
  const schemaFile = join(CHART_DIR, 'values.schema.json');

  it('is what valuesSchema.ts derives from values.yaml (UPDATE_GOLDENS=1 regenerates)', () => {
    const want = `${JSON.stringify(valuesSchema(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')), null, 2)}\n`;
    if (process.env.UPDATE_GOLDENS === '1') writeFileSync(schemaFile, want);
    expect(readFileSync(schemaFile, 'utf8')).toBe(want);
  });

  it('types defaults, closes objects, and takes descriptions from comments', () => {
    const s = valuesSchema(
      [
        '# -- How many.',
        'replicas: 2',
        '# A section.',
        'portal:',
        '  # -- Where.',
        '  edgeUrl: ""',
        '  # -- Scheduling.',
        '  nodeSelector: {}',
        '  # -- Flags.',
        '  extraArgs: []',
        '  # -- Pull.',
        '  pullPolicy: IfNotPresent',
      ].join('\n'),
    );
    expect(s).toMatchObject({
      type: 'object',
      additionalProperties: false,
      properties: {
        replicas: { description: 'How many.', type: 'integer' },
        portal: {
          description: 'A section.',
          additionalProperties: false,
          properties: {
            edgeUrl: { description: 'Where.', type: 'string' },
            nodeSelector: { type: 'object' },
            extraArgs: { type: 'array', items: { type: 'string' } },
            pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
          },
        },
      },
    });
    expect(s.properties).not.toHaveProperty('portal.properties.nodeSelector.additionalProperties');
  });
});
