import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scrapeConfig, vmagentArgs } from './vmagentConfig.ts';

describe('vmagent configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understory-vmagent-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('groups targets by job and path', () => {
    expect(
      scrapeConfig(
        [
          { job: 'incloud', url: 'http://127.0.0.1:9464/metrics' },
          { job: 'sensor', url: 'http://127.0.0.1:9465/metrics' },
          { job: 'sensor', url: 'http://127.0.0.1:9466/metrics' },
        ],
        15,
      ),
    ).toEqual({
      global: { scrape_interval: '15s' },
      scrape_configs: [
        {
          job_name: 'incloud',
          scheme: 'http',
          metrics_path: '/metrics',
          static_configs: [{ targets: ['127.0.0.1:9464'], labels: { job: 'incloud' } }],
        },
        {
          job_name: 'sensor',
          scheme: 'http',
          metrics_path: '/metrics',
          static_configs: [{ targets: ['127.0.0.1:9465', '127.0.0.1:9466'], labels: { job: 'sensor' } }],
        },
      ],
    });
  });

  it.each([
    ['not a url', 'x', /not a URL/],
    ['ftp', 'ftp://h/metrics', /not http/],
  ])('rejects %s', (_what, url, message) => {
    expect(() => scrapeConfig([{ job: 'j', url }], 15)).toThrow(message);
  });

  it('rejects a job name that is not a plain identifier', () => {
    expect(() => scrapeConfig([{ job: 'a b', url: 'http://h/metrics' }], 15)).toThrow(/cannot use job name/);
  });

  it('writes the config and returns the command line', () => {
    const cmd = vmagentArgs({
      targets: [{ job: 'incloud', url: 'http://127.0.0.1:9464/metrics' }],
      remoteWriteUrl: 'http://127.0.0.1:8428/api/v1/write',
      dataDir: dir,
    });
    expect(cmd.command).toBe('vmagent');
    expect(cmd.args).toContain(`-promscrape.config=${join(dir, 'scrape.yml')}`);
    expect(cmd.args).toContain('-remoteWrite.url=http://127.0.0.1:8428/api/v1/write');
    expect(
      JSON.parse(readFileSync(cmd.configFile, 'utf8')).scrape_configs[0].static_configs[0].targets,
    ).toEqual(['127.0.0.1:9464']);
  });
});
