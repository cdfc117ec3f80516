/**
 * Golden loading knows no arch: a backend supplies its vectors as objects or files, and the
 * envelope is checked the same way for everyone.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkGolden, readGolden, type AttributeGolden, type FastPathGolden, type PageTableGolden } from '../src/index.ts';

const frames: FastPathGolden = {
  arch: 'toy',
  vectors: [{ name: 'empty', syscall: 1, endpoint: 2, message: { type: 0, data: '', caps: [] }, registers: { r0: '0x0000000000000001' } }],
};
const tables: PageTableGolden = {
  arch: 'toy',
  entries: [{ name: 'one', va: '0x1000', pa: '0x2000', pageSize: 4096, perms: ['READ'], markers: [], global: false, leaf: '0x0000000000002001' }],
  indices: [],
  invalid: [],
};
const attributes: AttributeGolden = {
  arch: 'toy',
  vectors: [{ name: 'leaf', source: 'Toy CPU manual, table 4-2', entry: '0x0000000000002001' }],
  faults: [{ name: 'fault', source: 'Toy CPU manual, section 5' }],
};

describe('golden vectors supplied by the backend', () => {
  it('reads objects, paths and file URLs alike', () => {
    const dir = mkdtempSync(join(tmpdir(), 'golden-'));
    const file = join(dir, 'fast-path.json');
    writeFileSync(file, JSON.stringify(frames));
    expect(readGolden('fast-path', frames)).toBe(frames);
    expect(readGolden('fast-path', file)).toEqual(frames);
    expect(readGolden('fast-path', pathToFileURL(file))).toEqual(frames);
    expect(readGolden('page-table', tables)).toBe(tables);
    expect(readGolden('attributes', attributes)).toBe(attributes);
  });

  it('refuses malformed envelopes with the reason', () => {
    expect(() => checkGolden('fast-path', { vectors: [] })).toThrow(/no "arch"/);
    expect(() => checkGolden('fast-path', { ...frames, vectors: [] })).toThrow(/no vectors/);
    expect(() => checkGolden('fast-path', { ...frames, vectors: [frames.vectors[0], frames.vectors[0]] })).toThrow(/duplicate/);
    expect(() => checkGolden('page-table', { ...tables, entries: [{ ...tables.entries[0], leaf: '12' }] })).toThrow(/leaf/);
    expect(() => checkGolden('page-table', { ...tables, invalid: undefined })).toThrow(/invalid/);
    expect(() => checkGolden('attributes', { ...attributes, faults: [{ name: 'f', source: 'x' }] })).toThrow(/source/);
    expect(() => checkGolden('attributes', { ...attributes, vectors: [{ ...attributes.vectors[0], entry: '0x1' }] })).toThrow(/16 hex/);
  });
});
