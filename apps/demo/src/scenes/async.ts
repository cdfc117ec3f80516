/**
 * Asynchronous channel and topic. Everything here runs on CPU 0: a worker would need its handle
 * granted through a process capability and a side channel to learn it (see core's
 * async-stress test), which would bury the point; the rings are the same lock-free rings on
 * every CPU. The capability to each ring travels in an ordinary synchronous call.
 */
import { type IpcError, messageCaps, type Process } from '@veridian/core';
import type { Scene } from '../scene.js';
import { heading } from '../ui.js';

const EMPTY = new Uint8Array(0);

/** Waits for one message on a fresh endpoint `name`, replies, and returns the capability it carried. */
async function takeCap(p: Process, name: string): Promise<number> {
  const m = await p.receive(p.createEndpoint({ name }));
  const [cap] = messageCaps(m);
  p.reply(m.sender, { type: 0, data: EMPTY });
  // Let the caller take its reply first: a higher-priority process that replies and then at once
  // waits on a ring on CPU 0 was seen to leave the caller unscheduled (core issue, to report).
  await p.yield();
  return cap!;
}

export async function asyncScene(s: Scene): Promise<void> {
  const { kernel } = s;
  const n = s.quick ? 100 : 1000;
  const subscribers = 3;
  heading(`async channel (${n} messages) and a topic with ${subscribers} subscribers`);

  const consumer = kernel.spawn({ name: 'consumer', priority: 12 }, async (p) => {
    const ch = p.channel(await takeCap(p, 'consumer'));
    let got = 0;
    let sum = 0;
    // Drains the ring until the producer closed it (ChannelClosed). Not `for await`: in this
    // build it delivered about half the messages here (core issue, to report).
    try {
      for (;;) {
        sum += (await ch.receiveAsync()).type;
        got++;
      }
    } catch (e) {
      if ((e as IpcError).code !== 'ChannelClosed') throw e;
    }
    console.log(`[consumer] drained ${got} messages (types sum ${sum}); the channel closed behind them`);
    if (got !== n) s.fail(`the consumer got ${got} of ${n}`);
  });
  const subs = Array.from({ length: subscribers }, (_, i) =>
    kernel.spawn({ name: `sub${i}`, priority: 12 }, async (p) => {
      // Subscribe before replying, so the publisher only starts once every subscriber listens.
      const m = await p.receive(p.createEndpoint({ name: `sub${i}` }));
      const sub = p.topic(messageCaps(m)[0]!).subscribe();
      p.reply(m.sender, { type: 0, data: EMPTY });
      await p.yield(); // as in takeCap
      let got = 0;
      let inOrder = true;
      while (got < n) inOrder &&= (await sub.receive()).type === ++got;
      console.log(`[sub${i}]     saw all ${got} publications ${inOrder ? 'in order' : 'OUT OF ORDER'} (missed ${sub.missedTotal})`);
      if (!inOrder) s.fail(`sub${i} saw the topic out of order`);
      sub.unsubscribe();
    }),
  );
  await kernel.whenNamed('consumer');
  for (let i = 0; i < subscribers; i++) await kernel.whenNamed(`sub${i}`);

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
    console.log(`[producer] sent ${n} through a 64-slot ring (overflow 'block'; ${st.fullEvents} times full) without taking the kernel lock`);
    ch.close();

    const t = p.topic(p.createTopic({ bufferSize: 64, slowSubscriber: 'block' }));
    for (let i = 0; i < subscribers; i++) await p.call(p.connect(`sub${i}`), { type: 1, data: EMPTY, caps: [t.handle] });
    for (let i = 1; i <= n; i++) await t.publishAsync({ type: i, data });
    topicMessages = t.stats().messages;
    console.log(`[producer] published ${n} on the topic; each write of a slot reached ${subscribers} subscribers`);
    await Promise.all([consumer.exited, ...subs.map((x) => x.exited)]);
  });
  for (const h of [producer, consumer, ...subs]) {
    const exit = await h.exited;
    if (exit.reason !== 'returned') throw exit.error;
  }
  s.ran.push('async');
  s.counts['async channel'] = channelMessages;
  s.counts['topic publications'] = topicMessages;
}
