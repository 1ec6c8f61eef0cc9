// `eddy describe` as a process: the topology a module exports, as text and JSON, and a module that exports none.
import { describe, expect, it } from 'vitest';
import { eddy, eddyJson, errorOf } from '../support/cli.js';

interface Description {
  applicationId: string;
  subtopologies: {
    id: number;
    sources: { topics: string[] }[];
    sinks: { topic: string | null }[];
    stores: string[];
  }[];
  sourceTopics: string[];
  sinkTopics: string[];
  repartitionTopics: { topic: string; writers: number[]; reader: number }[];
  changelogTopics: { topic: string; store: string; subtopology: number; config: Record<string, string> }[];
  text: string;
}

const MODULE = 'test/cli/fixtures/rekey-count.ts';

describe('eddy describe', () => {
  it('prints the subtopologies, stores and internal topics of the exported topology', async () => {
    const d = await eddyJson<Description>(['describe', MODULE, '--application-id', 'shop']);
    expect(d.applicationId).toBe('shop');
    expect(d.subtopologies.map((s) => s.id)).toEqual([0, 1]);
    expect(d.subtopologies[0]!.sources[0]!.topics).toEqual(['cli-orders']);
    expect(d.subtopologies[0]!.sinks[0]!.topic).toBe('shop-by-customer-repartition');
    expect(d.subtopologies[1]!.sources[0]!.topics).toEqual(['shop-by-customer-repartition']);
    expect(d.subtopologies[1]!.stores).toEqual(['orders-per-customer']);
    expect(d.sourceTopics).toEqual(['cli-orders']);
    expect(d.sinkTopics).toEqual(['cli-counts']);
    expect(d.repartitionTopics).toEqual([
      { topic: 'shop-by-customer-repartition', partitions: null, writers: [0], reader: 1 },
    ]);
    expect(d.changelogTopics).toEqual([
      {
        topic: 'shop-orders-per-customer-changelog',
        store: 'orders-per-customer',
        subtopology: 1,
        config: { 'cleanup.policy': 'compact' },
      },
    ]);
    expect(d.text).toContain('Sub-topology: 1');

    const text = await eddy(['describe', MODULE, '--application-id', 'shop']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(d.text.trimEnd());
    expect(text.stdout).toMatch(/shop-orders-per-customer-changelog +changelog/);
  });

  it('fails with INVALID_MODULE when the export is not a topology', async () => {
    const r = await eddy(['describe', MODULE, '--export', 'version', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(errorOf(r.stderr).code).toBe('INVALID_MODULE');
    expect(errorOf(r.stderr).message).toContain('"version"');

    const missing = await eddy(['describe', 'test/cli/fixtures/no-such-module.ts']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^eddy: INVALID_MODULE: no such module: .*no-such-module\.ts$/);
  });
});
