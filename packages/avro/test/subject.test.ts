import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { subjectName } from '../src/subject.js';
import { userSchema } from './fixtures/schemas.js';

const user = avro.Type.forSchema(userSchema);

describe('subject naming strategies', () => {
  it('name subjects by topic, record, or both', () => {
    expect(subjectName('topic', 'users', 'value', user)).toBe('users-value');
    expect(subjectName('topic', 'users', 'key', user)).toBe('users-key');
    expect(subjectName('record', 'users', 'value', user)).toBe('eddy.test.User');
    expect(subjectName('record', undefined, 'value', user)).toBe('eddy.test.User');
    expect(subjectName('topic-record', 'users', 'value', user)).toBe('users-eddy.test.User');
  });

  it('refuse a topic strategy without a topic, and a record strategy for an unnamed schema', () => {
    expect(() => subjectName('topic', undefined, 'value', user)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => subjectName('record', 't', 'value', avro.Type.forSchema('string'))).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});
