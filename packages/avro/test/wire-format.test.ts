import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { frame, schemaIdOf } from '../src/wire-format.js';
import { order, orderSchema, userSchema } from './fixtures/schemas.js';
import { fixture } from './support.js';

describe('the Confluent wire format', () => {
  it('frames the golden records byte for byte', () => {
    const user = fixture('user-7');
    expect(frame(user.schemaId, avro.Type.forSchema(userSchema).toBuffer({ id: 1, name: 'a' }))).toEqual(
      user.bytes,
    );
    const o = fixture('order-4242');
    expect(frame(o.schemaId, avro.Type.forSchema(orderSchema).toBuffer(order))).toEqual(o.bytes);
  });

  it('reads the schema id of framed bytes', () => {
    expect(schemaIdOf(fixture('order-4242').bytes)).toBe(4242);
    expect(schemaIdOf(frame(0xfffffffe, Buffer.alloc(0)))).toBe(0xfffffffe);
  });

  it('refuses a wrong magic byte and a header cut short', () => {
    expect(() => schemaIdOf(Buffer.from('{"a":1}'))).toThrow(
      expect.objectContaining({ code: 'WRONG_MAGIC_BYTE' }),
    );
    expect(() => schemaIdOf(Buffer.from([0, 0, 0]))).toThrow(expect.objectContaining({ code: 'TRUNCATED' }));
    expect(() => schemaIdOf(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'TRUNCATED' }));
  });
});
