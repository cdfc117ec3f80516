// The first hour of a user (issue 13, runtime part): worker modules resolve as users expect,
// crashes make noise, a program ends when it is done, `await using` disposes the kernel.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IpcError } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

const program = (name: string) => fileURLToPath(new URL(`./programs/${name}`, import.meta.url));

/** Runs a TypeScript program the way the tests load the kernel (tsx, source condition), bounded. */
function run(name: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions', '@veridian/source', program(name)], { encoding: 'utf8', timeout: 30_000, cwd: fileURLToPath(new URL('..', import.meta.url)) });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, timedOut: r.error !== undefined };
}

describe('worker modules resolve as users expect', () => {
  it('a relative module path is refused at once with a hint to use new URL(…, import.meta.url); nothing is taken', () => {
    const k = testKernel();
    const before = k.stats();
    let error: unknown;
    try {
      k.spawnWorker('./echo-worker.mjs', { name: 'echo' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IpcError);
    expect(error).toMatchObject({ code: 'InvalidArgument' });
    expect(String((error as Error).message)).toContain("new URL('./echo-worker.mjs', import.meta.url)");
    expect(k.stats()).toEqual(before);
  });

  it('an absolute path and a URL both work; a missing module is InvalidArgument naming the file', async () => {
    const k = testKernel();
    const path = fileURLToPath(new URL('./support/identity-worker.ts', import.meta.url));
    expect(await k.spawnWorker(path, { name: 'by-path' }).exited).toMatchObject({ reason: 'returned' });
    expect(await k.spawnWorker(new URL('./support/identity-worker.ts', import.meta.url), { name: 'by-url' }).exited).toMatchObject({ reason: 'returned' });
    expect(() => k.spawnWorker(new URL('./support/missing.ts', import.meta.url), { name: 'missing' })).toThrow(/worker module not found: .*missing\.ts/);
  });
});

describe('crashes make noise', () => {
  it('a crashing process is an error event with its name and error; whenNamed rejects with the crash as its cause', async () => {
    const k = testKernel();
    const seen: Array<{ name: string; error: unknown }> = [];
    k.on('error', (e) => seen.push({ name: e.name, error: e.error }));
    const h = k.spawn({ name: 'server' }, (p) => {
      p.connect('nope');
    });
    const waiting = k.whenNamed('server', 5000);
    expect(await h.exited).toMatchObject({ reason: 'crashed' });
    expect(seen).toEqual([{ name: 'server', error: expect.objectContaining({ code: 'NotFound' }) as unknown }]);
    const rejection = await waiting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(rejection).toMatchObject({ code: 'NotFound', cause: expect.objectContaining({ code: 'NotFound' }) as unknown });
  });

  it('with no listener, a crash is a warning on stderr naming the process and the error', () => {
    const r = run('crash.ts');
    expect(r.timedOut).toBe(false);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('exit crashed');
    expect(r.stderr).toMatch(/process "doomed-client".*crashed.*NotFound/);
  });
});

describe('a program ends when it is done', () => {
  it('without shutdown(), a program whose worker server waits forever exits once the client is done', () => {
    const r = run('no-shutdown.ts');
    expect(r.timedOut, `the program did not exit: ${r.stderr}`).toBe(false);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('reply 8 3');
    expect(r.stdout).toContain('client done');
  });

  it('await using shuts the kernel down at the end of the scope', () => {
    const r = run('dispose.ts');
    expect(r.timedOut).toBe(false);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('live 2');
    expect(r.stdout).toContain('after 0');
  });
});
