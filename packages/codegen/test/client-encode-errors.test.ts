/**
 * The generated-client contract: a method whose arguments fail to encode returns a rejected
 * promise (`client.put(x).catch(h)` catches it) and sends nothing — for every field kind.
 */
import { createMessageBuffer, IpcError, type StubProcess } from '@veridian/core';
import { describe, expect, it } from 'vitest';
import { Access } from '../examples/generated/demo.common.ts';
import { FileClient } from '../examples/generated/demo.fs.ts';
import { StoreClient } from '../examples/generated/demo.kv.ts';
import { Color, Direction, PainterClient, Style, Wide, type Canvas, type Primitives } from '../examples/generated/demo.shapes.ts';

function recordingProcess(): StubProcess & { sent: unknown[] } {
  const sent: unknown[] = [];
  return {
    sent,
    pid: 1,
    call: (_c, request) => {
      sent.push(request);
      return Promise.resolve(createMessageBuffer());
    },
    send: (_c, message) => {
      sent.push(message);
      return Promise.resolve();
    },
    receive: () => Promise.reject(new Error('not used')),
    reply: () => {},
    createEndpoint: () => 0,
    derive: (h) => h,
    close: () => {},
  };
}

const primitives: Primitives = { flag: true, a: 1, b: 2, c: 3, d: 4n, e: -1, f: -2, g: -3, h: -4n, x: 1.5, y: 2.5 };
const canvas: Canvas = {
  shapes: [],
  grid: [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ],
  palette: [Color.RED, Color.GREEN, Color.BLUE, Color.RED],
  style: Style.BOLD,
  wide: Wide.LOW,
  direction: Direction.UP,
  matrix: [],
  names: [],
};
const bad = <T>(value: unknown) => value as T;

type Case = [kind: string, invoke: (clients: { painter: PainterClient; store: StoreClient; file: FileClient }) => Promise<unknown>];
const CASES: Case[] = [
  ['bool', ({ painter }) => painter.echo({ ...primitives, flag: bad(1) })],
  ['u8', ({ painter }) => painter.echo({ ...primitives, a: 256 })],
  ['u16', ({ painter }) => painter.echo({ ...primitives, b: -1 })],
  ['u32', ({ painter }) => painter.echo({ ...primitives, c: 2 ** 32 })],
  ['u64', ({ painter }) => painter.echo({ ...primitives, d: 2n ** 64n })],
  ['i8', ({ painter }) => painter.echo({ ...primitives, e: 128 })],
  ['i16', ({ painter }) => painter.echo({ ...primitives, f: 1.5 })],
  ['i32', ({ painter }) => painter.echo({ ...primitives, g: -(2 ** 31) - 1 })],
  ['i64', ({ painter }) => painter.echo({ ...primitives, h: bad(1) })],
  ['f32', ({ painter }) => painter.echo({ ...primitives, x: bad('1') })],
  ['f64', ({ painter }) => painter.echo({ ...primitives, y: bad(1n) })],
  ['a missing struct field', ({ painter }) => painter.echo(bad({ ...primitives, a: undefined }))],
  ['string<16> with 17 bytes (two-way)', ({ store }) => store.get('k'.repeat(17))],
  ['string<16> with 17 bytes (one-way)', ({ store }) => store.touch('k'.repeat(17))],
  ['string<8>? inside a vector', ({ painter }) => painter.draw({ ...canvas, names: ['123456789'] })],
  ['bytes<32>? with 33 bytes', ({ painter }) => painter.draw({ ...canvas, blob: new Uint8Array(33) })],
  ['vector<Shape, 8> with 9', ({ painter }) => painter.draw({ ...canvas, shapes: Array.from({ length: 9 }, () => ({ tag: 'nothing' as const, value: {} })) })],
  ['array<array<u8, 3>, 3> with a short row', ({ painter }) => painter.draw({ ...canvas, grid: [[0, 0, 0], [0, 0], [0, 0, 0]] })],
  ['enum with a value that is no member', ({ painter }) => painter.draw({ ...canvas, palette: [Color.RED, Color.RED, Color.RED, bad(9)] })],
  ['signed enum', ({ painter }) => painter.draw({ ...canvas, direction: bad(0) })],
  ['bits with an undefined bit (u16)', ({ painter }) => painter.draw({ ...canvas, style: bad(0x4) })],
  ['bits with an undefined bit (u64)', ({ painter }) => painter.draw({ ...canvas, wide: bad(2n) })],
  ['bits with an undefined bit (one-way)', ({ painter }) => painter.clear(bad(0x10))],
  ['bits with an undefined bit (imported type)', ({ store }) => store.open(bad(Access.WRITE | 0x80))],
  ['union with an unknown tag', ({ painter }) => painter.measure(bad({ tag: 'square', value: 1 }))],
  ['union member of the wrong type', ({ painter }) => painter.measure({ tag: 'label', value: bad(5) })],
  ['optional struct holding a bad value', ({ painter }) => painter.draw({ ...canvas, focus: { x: 1, y: bad('2') } })],
  ['capability handle', ({ store }) => store.clone(-1)],
  ['vector<client<Store>, 2> with 3', ({ store }) => store.attach([1, 2, 3], undefined)],
  ['optional cap', ({ store }) => store.attach([], 1.5)],
  ['u64 argument', ({ file }) => file.read(-1n, 1)],
  ['string<4096> with 4097 bytes', ({ file }) => file.open('p'.repeat(4097))],
];

describe('generated clients reject arguments that fail to encode', () => {
  it.each(CASES)('%s: a rejected promise, nothing sent', async (_kind, invoke) => {
    const proc = recordingProcess();
    const clients = { painter: new PainterClient(proc, 5), store: new StoreClient(proc, 6), file: new FileClient(proc, 7) };
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = invoke(clients);
    }).not.toThrow();
    const caught = await promise!.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(caught).toBeInstanceOf(IpcError);
    expect((caught as IpcError).code).toBe('InvalidArgument');
    expect(proc.sent).toEqual([]);
  });
});
