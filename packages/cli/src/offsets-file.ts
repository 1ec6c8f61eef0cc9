// The JSON file of a group's committed offsets that `offsets export` writes and `offsets import` reads.
import { readFileSync, writeFileSync } from 'node:fs';
import { CliError } from './errors.js';
import type { PartitionOffset } from './group.js';
import { toJson } from './output.js';

export interface OffsetsFile {
  version: 1;
  group: string;
  offsets: PartitionOffset[];
}

function malformed(source: string, why: string): CliError {
  return new CliError('FILE_FAILED', `${source} is not an offsets file: ${why}`);
}

/** The file's text: offsets as decimal strings. */
export function formatOffsets(file: OffsetsFile): string {
  return `${toJson(file)}\n`;
}

/** Parses and checks an offsets file's text; FILE_FAILED naming `source` when it is not one. */
export function parseOffsets(text: string, source: string): OffsetsFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw malformed(source, (err as Error).message);
  }
  const d = data as { version?: unknown; group?: unknown; offsets?: unknown } | null;
  if (d?.version !== 1) throw malformed(source, 'its "version" must be 1');
  if (typeof d.group !== 'string') throw malformed(source, '"group" must be a string');
  if (!Array.isArray(d.offsets)) throw malformed(source, '"offsets" must be an array');
  const offsets = d.offsets.map((o: unknown, i): PartitionOffset => {
    const e = o as { topic?: unknown; partition?: unknown; offset?: unknown } | null;
    const offset = typeof e?.offset === 'string' || typeof e?.offset === 'number' ? String(e.offset) : '';
    if (
      typeof e?.topic !== 'string' ||
      e.topic.length === 0 ||
      typeof e.partition !== 'number' ||
      !Number.isSafeInteger(e.partition) ||
      e.partition < 0 ||
      !/^\d+$/.test(offset)
    ) {
      throw malformed(source, `offsets[${i}] must be { topic, partition >= 0, offset >= 0 }`);
    }
    return { topic: e.topic, partition: e.partition, offset: BigInt(offset) };
  });
  return { version: 1, group: d.group, offsets };
}

export function readOffsetsFile(path: string): OffsetsFile {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new CliError('FILE_FAILED', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseOffsets(text, path === '-' ? 'standard input' : path);
}

export function writeOffsetsFile(path: string, file: OffsetsFile): void {
  try {
    writeFileSync(path, formatOffsets(file));
  } catch (err) {
    throw new CliError('FILE_FAILED', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}
