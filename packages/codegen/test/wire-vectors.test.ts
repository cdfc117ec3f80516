import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IpcError, WireReader, WireWriter } from '@veridian/core';
import * as common from '../examples/generated/demo.common.ts';
import * as fs from '../examples/generated/demo.fs.ts';
import * as kv from '../examples/generated/demo.kv.ts';
import * as shapes from '../examples/generated/demo.shapes.ts';

interface EncodingVector {
  name: string;
  module: string;
  type: string;
  value: unknown;
  bytes: string;
  caps: number[];
}
interface FailureVector {
  name: string;
  module: string;
  type: string;
  bytes: string;
  caps: number[];
  error: string;
}

const modules: Record<string, Record<string, unknown>> = { 'demo.common': common, 'demo.fs': fs, 'demo.kv': kv, 'demo.shapes': shapes };

const vectors = JSON.parse(readFileSync(new URL('./wire-vectors.json', import.meta.url), 'utf8'), (_key, value: unknown) => {
  if (typeof value === 'string' && /^-?\d+n$/.test(value)) return BigInt(value.slice(0, -1));
  if (value !== null && typeof value === 'object' && '$bytes' in value) return fromHex((value as { $bytes: string }).$bytes);
  return value;
}) as { encoding: EncodingVector[]; decodeFailures: FailureVector[] };

function fromHex(hex: string): Uint8Array {
  const clean = hex.replaceAll(' ', '');
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(i * 2, i * 2 + 2), 16));
}
const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function codec(module: string, type: string) {
  const m = modules[module]!;
  const encode = m[`encode${type}`] as ((w: WireWriter, v: unknown) => void) | undefined;
  const decode = m[`decode${type}`] as ((r: WireReader) => unknown) | undefined;
  if (!encode || !decode) throw new Error(`no codec for ${module}.${type}`);
  return { encode, decode };
}

describe('golden wire vectors', () => {
  it.each(vectors.encoding.map((v) => [v.name, v] as const))('encodes %s byte for byte', (_name, v) => {
    const writer = new WireWriter();
    codec(v.module, v.type).encode(writer, v.value);
    expect(toHex(writer.finish())).toBe(v.bytes.replaceAll(' ', ''));
    expect(writer.caps).toEqual(v.caps);
  });

  it.each(vectors.encoding.map((v) => [v.name, v] as const))('decodes %s', (_name, v) => {
    const reader = new WireReader(fromHex(v.bytes), v.caps);
    const value = codec(v.module, v.type).decode(reader);
    reader.end();
    expect(value).toEqual(v.value);
  });

  it.each(vectors.decodeFailures.map((v) => [v.name, v] as const))('rejects %s', (_name, v) => {
    const reader = new WireReader(fromHex(v.bytes), v.caps);
    let error: unknown;
    try {
      codec(v.module, v.type).decode(reader);
      reader.end();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IpcError);
    expect((error as IpcError).code).toBe('InvalidArgument');
    expect((error as IpcError).message).toContain(v.error);
  });
});
