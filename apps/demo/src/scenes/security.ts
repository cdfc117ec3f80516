/**
 * Security and observability: a server guards its endpoint with a rate limit and a filter; a
 * flood is refused (RateLimited, Filtered) and every refusal is in the audit ring. While the
 * endpoint is open the debugfs files are snapshotted into the output directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IpcError } from '@veridian/core';
import type { Scene } from '../scene.js';
import { heading } from '../ui.js';

const DEBUGFS = '/sys/kernel/debug/ipc/';
const STOP = 2;

export async function securityScene(s: Scene, outDir: string): Promise<void> {
  const { kernel } = s;
  const flood = s.quick ? 100 : 1000;
  heading(`security: a rate limit and a filter against a flood of ${flood}`);
  const guard = kernel.spawn({ name: 'guard', priority: 20 }, async (p) => {
    const ep = p.createEndpoint({ name: 'guarded' });
    // 5 messages at once, then 10 a second; only types 1 and 2, at most 32 bytes.
    p.setPolicy(ep, { rate: { messagesPerSecond: 10, burstMessages: 5 }, filter: { types: [1, STOP], maxSize: 32 } });
    let served = 0;
    while ((await p.receive(ep)).type !== STOP) served++;
    console.log(`[guard]   served ${served} messages`);
  });
  await kernel.whenNamed('guarded');
  const results = new Map<string, number>();
  const flooder = kernel.spawn({ name: 'flooder', priority: 10 }, async (p) => {
    const ch = p.connect('guarded');
    const data = new Uint8Array(8);
    // Every third message is of a type the filter refuses; the rest meet the rate limit.
    for (let i = 0; i < flood; i++) {
      const r = await p.send(ch, { type: i % 3 === 2 ? 9 : 1, data }).then(
        () => 'ok',
        (e: IpcError) => e.code,
      );
      results.set(r, (results.get(r) ?? 0) + 1);
    }
    console.log(`[flooder] ${flood} sends -> ${[...results].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });
  await flooder.exited;
  const refused = kernel.audit.events().filter((e) => e.src === flooder.pid && e.result !== 'ok');
  const byResult = (code: string) => refused.filter((e) => e.result === code).length;
  console.log(`[audit]   ${kernel.audit.stats().written} records so far; from the flooder: RateLimited ${byResult('RateLimited')}, Filtered ${byResult('Filtered')}`);
  s.counts.RateLimited = results.get('RateLimited') ?? 0;
  s.counts.Filtered = results.get('Filtered') ?? 0;

  // Snapshot debugfs while the guarded endpoint is still open (its line is in `channels`).
  mkdirSync(outDir, { recursive: true });
  for (const file of ['trace', 'messages', 'channels']) writeFileSync(join(outDir, `debugfs-${file}.txt`), kernel.debugfs.read(DEBUGFS + file));
  const channels = kernel.debugfs.read(DEBUGFS + 'channels').trim().split('\n');
  console.log(`[debugfs] ${DEBUGFS}channels:\n    ${channels.filter((l, i) => i === 0 || l.includes('guarded')).join('\n    ')}`);

  const stopper = kernel.spawn({ name: 'stopper', priority: 10 }, (p) => p.send(p.connect('guarded'), { type: STOP, data: new Uint8Array(0) }));
  for (const h of [stopper, guard, flooder]) {
    const exit = await h.exited;
    if (exit.reason !== 'returned') throw exit.error;
  }
  s.ran.push('security');
}

/** Writes the audit log (JSON lines) and the Chrome/Perfetto trace of this arch's whole run. */
export function writeRecords(s: Scene, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const audit = join(outDir, 'audit.jsonl');
  const trace = join(outDir, 'trace.json');
  writeFileSync(audit, s.kernel.audit.export());
  writeFileSync(trace, s.kernel.trace.export());
  return [audit, trace];
}
