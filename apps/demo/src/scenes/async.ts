/**
 * Asynchronous channel and topic: the producer on CPU 0, the channel's consumer and the
 * topic's subscribers each on a worker CPU. The capability to each ring travels in an ordinary
 * synchronous call; after that nobody takes the kernel lock per message. A 1 MiB payload rides
 * the same channel as a zero-copy buffer by Move: the consumer maps the producer's very frames.
 */
import { SharedBuffer, type ProcessHandle } from '@veridian/core';
import { readReport, reportBuffer } from '../report.js';
import type { Scene } from '../scene.js';
import { heading, worker } from '../ui.js';
import type { RingReaderArgs } from '../workers/ring-reader.js';

const EMPTY = new Uint8Array(0);

export async function asyncScene(s: Scene): Promise<void> {
  const { kernel } = s;
  const n = s.quick ? 100 : 1000;
  const subscribers = 3;
  heading(`async channel (${n} messages) and a topic with ${subscribers} subscribers, all on worker CPUs`);

  const readers: Array<{ label: string; args: RingReaderArgs; handle: ProcessHandle }> = [];
  const start = (label: string, args: RingReaderArgs) => readers.push({ label, args, handle: kernel.spawnWorker(worker('ring-reader'), { name: args.name, priority: 12, args }) });
  start('consumer', { role: 'consumer', name: 'consumer', count: n, report: reportBuffer() });
  for (let i = 0; i < subscribers; i++) start(`sub${i}`, { role: 'subscriber', name: `sub${i}`, count: n, report: reportBuffer() });
  for (const r of readers) await kernel.whenNamed(r.args.name);

  let channelMessages = 0;
  let topicMessages = 0;
  const producer = kernel.spawn({ name: 'producer', priority: 10 }, async (p) => {
    const h = p.createChannel({ type: 'async', bufferSize: 64, overflow: 'block' });
    await p.call(p.connect('consumer'), { type: 1, data: EMPTY, caps: [h] });
    const ch = p.channel(h);
    const data = new Uint8Array(8);
    // 'block': a full ring makes the sender wait for the consumer instead of dropping.
    for (let i = 1; i <= n; i++) await ch.sendAsync({ type: i, data });
    const st = ch.stats();
    channelMessages = st.messages;
    console.log(`[producer] sent ${n} through a 64-slot ring to a worker CPU (overflow 'block'; ${st.fullEvents} times full) without taking the kernel lock`);
    // A payload over 64 bytes rides as a zero-copy buffer: 1 MiB by Move, frame numbers inline.
    const va = p.memory.map(1 << 20);
    for (let i = 0; i < 256; i++) p.memory.write(va + i * 4096, Uint8Array.of(i));
    const frames = p.memory.frames(va, 16);
    await ch.sendAsync({ type: 0, data: new Uint8Array(frames.buffer), buffer: new SharedBuffer(va, 1 << 20), transfer: 'move' });
    let gone = 'still readable';
    try {
      p.memory.read(va, 1);
    } catch (e) {
      gone = (e as { code?: string }).code ?? String(e);
    }
    console.log(`[producer] moved 1 MiB (frames ${Array.from(frames.subarray(0, 4)).join(', ')}, …) through the same ring; reading it here now -> ${gone}`);
    ch.close();

    const t = p.topic(p.createTopic({ bufferSize: 64, slowSubscriber: 'block' }));
    for (let i = 0; i < subscribers; i++) await p.call(p.connect(`sub${i}`), { type: 1, data: EMPTY, caps: [t.handle] });
    for (let i = 1; i <= n; i++) await t.publishAsync({ type: i, data });
    topicMessages = t.stats().messages;
    console.log(`[producer] published ${n} on the topic; each write of a slot reached ${subscribers} subscribers on ${subscribers} worker CPUs`);
    await Promise.all(readers.map((r) => r.handle.exited));
  });
  for (const h of [producer, ...readers.map((r) => r.handle)]) {
    const exit = await h.exited;
    if (exit.reason !== 'returned') throw exit.error;
  }
  for (const { label, args, handle } of readers) {
    const lines = readReport(args.report);
    for (const line of lines) console.log(`[${label} CPU ${handle.cpu}] ${line}`);
    if (args.role === 'consumer' && !lines.some((l) => l.startsWith(`drained ${n} messages`))) s.fail(`the consumer did not drain all ${n} messages`);
    if (args.role === 'subscriber' && !lines.some((l) => l.includes(`saw all ${n} publications in order`))) s.fail(`${label} did not see the topic in order`);
  }
  s.ran.push('async');
  s.counts['async channel'] = channelMessages;
  s.counts['topic publications'] = topicMessages;
}
