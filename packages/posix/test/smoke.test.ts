import { describe, expect, it } from 'vitest';
import { ARCHS, world } from './support/setup.ts';

describe.each(ARCHS)('smoke %s', (_n, arch) => {
  it('pipe write/read/eof', async () => {
    await using w = await world(arch);
    const r = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      expect([r, wr]).toEqual([0, 1]);
      expect(await px.write(wr, new Uint8Array([1, 2, 3]))).toBe(3);
      await px.close(wr);
      const buf = new Uint8Array(10);
      const a = await px.read(r, buf);
      const b = await px.read(r, buf);
      return [a, b];
    });
    expect(r).toEqual([3, 0]);
  });
});
