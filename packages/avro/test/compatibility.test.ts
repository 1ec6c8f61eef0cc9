import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { checkCompatibility } from '../src/compatibility.js';

const record = (fields: object[]) =>
  avro.Type.forSchema({ type: 'record', name: 'Count', fields } as avro.Schema);
const v1 = record([{ name: 'count', type: 'long' }]);
const v2 = record([
  { name: 'count', type: 'long' },
  { name: 'by', type: 'string', default: '' },
]);
const noDefault = record([
  { name: 'count', type: 'long' },
  { name: 'by', type: 'string' },
]);
const removed = record([{ name: 'by', type: 'string', default: '' }]);
const retyped = record([{ name: 'count', type: 'string' }]);
const versions = (...types: avro.Type[]) => types.map((type, i) => ({ version: i + 1, type }));

describe('compatibility levels', () => {
  it('accept a field added with a default at every level', () => {
    for (const level of ['BACKWARD', 'FORWARD', 'FULL', 'FULL_TRANSITIVE'] as const) {
      expect(checkCompatibility(v2, versions(v1), level)).toEqual({ versions: [], fields: [] });
    }
  });

  it('BACKWARD refuses a field added without default, naming it; FORWARD accepts it', () => {
    expect(checkCompatibility(noDefault, versions(v1), 'BACKWARD')).toEqual({
      versions: [1],
      fields: ["Count.by: not in the writer's schema and no default (new readers of version 1)"],
    });
    expect(checkCompatibility(noDefault, versions(v1), 'FORWARD').versions).toEqual([]);
  });

  it('FULL refuses a field removed without default (old readers cannot read new data)', () => {
    expect(checkCompatibility(removed, versions(v1, v2), 'FULL')).toEqual({
      versions: [2],
      fields: ["Count.count: not in the writer's schema and no default (version 2 readers of new data)"],
    });
    expect(checkCompatibility(removed, versions(v1, v2), 'BACKWARD').versions).toEqual([]);
  });

  it('names a changed type, and checks every version only when transitive', () => {
    expect(checkCompatibility(retyped, versions(v1), 'BACKWARD').fields).toEqual([
      'Count.count: type long cannot be read as string (new readers of version 1)',
    ]);
    const history = versions(noDefault, v2);
    expect(checkCompatibility(v1, history, 'FORWARD').versions).toEqual([]);
    expect(checkCompatibility(v1, history, 'FORWARD_TRANSITIVE').versions).toEqual([1]);
    expect(checkCompatibility(retyped, versions(v1), 'NONE').versions).toEqual([]);
  });
});
