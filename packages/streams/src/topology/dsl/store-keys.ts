// Computed keys of the DSL's own byte-keyed stores: a one-letter tag before the key bytes or a bucket's slot.

/** `tag` + `key`. */
export function taggedKey(tag: string, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(key.byteLength + 1);
  out.write(tag, 0, 'latin1');
  key.copy(out, 1);
  return out;
}

/** `tag` + bucket (8 bytes) + slot (4 bytes): the slot-th entry registered in a time bucket. */
export function slotKey(tag: string, bucket: number, slot: number): Buffer {
  const out = Buffer.allocUnsafe(13);
  out.write(tag, 0, 'latin1');
  out.writeDoubleBE(bucket, 1);
  out.writeUInt32BE(slot, 9);
  return out;
}
