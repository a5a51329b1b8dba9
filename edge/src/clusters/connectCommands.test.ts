import { describe, expect, it } from 'vitest';
import { connectCommands, shellQuote } from './connectCommands.ts';

describe('connectCommands', () => {
  it('gives the exact Helm and local commands', () => {
    const got = connectCommands({
      edgeUrl: 'https://edge.example.com/some/page',
      installToken: 'ust_cit_abc-DEF_123',
      clusterName: 'prod-eu',
    });
    expect(got.helm).toBe(
      'helm upgrade --install understory ./infra/helm/understory --namespace understory --create-namespace ' +
        '--set portal.edgeUrl=https://edge.example.com --set portal.installToken=ust_cit_abc-DEF_123 ' +
        '--set clusterName=prod-eu',
    );
    expect(got.local).toBe(
      'understory up --edge-url https://edge.example.com --install-token ust_cit_abc-DEF_123',
    );
  });

  it('quotes anything a shell would interpret', () => {
    expect(shellQuote("a b'c")).toBe(`'a b'\\''c'`);
    expect(shellQuote('$(rm -rf /)')).toBe(`'$(rm -rf /)'`);
  });
});
