import { PIPE_BUF, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDNORM, POLLWRNORM } from './constants.js';
import { PipeObj, R, ShmObj, SockObj, W, type Desc, type Poller, type ServerCore } from './server-objects.js';
import { readWord, words } from './wire.js';

/*
 * The object server's `poll`: each entry's readiness from its object's state; a poller that
 * finds nothing ready waits (with its timeout) and is looked at again after each request.
 */

/** @internal The waiting `poll` calls of the object server. */
export class PollServer {
  readonly #s: ServerCore;
  readonly #pollers: Poller[] = [];

  constructor(core: ServerCore) {
    this.#s = core;
  }

  /** Pollers waiting (for the server's counts). */
  count(): number {
    return this.#pollers.length;
  }

  #revents(d: Desc | undefined, events: number): number {
    if (!d || this.#s.descs.get(d.id) !== d) return POLLNVAL;
    const o = d.obj;
    let r = 0;
    if (o instanceof PipeObj) {
      if (d.mode & R) {
        if (o.ch.bytes > 0) r |= POLLIN | POLLRDNORM;
        if (o.writers === 0) r |= POLLHUP;
      } else if (o.readers === 0) r |= POLLERR;
      else if (o.ch.free >= Math.min(PIPE_BUF, o.ch.capacity)) r |= POLLOUT | POLLWRNORM;
    } else if (o instanceof SockObj) {
      const inc = o.ch[(1 - d.side) as 0 | 1];
      const out = o.ch[d.side];
      const peerGone = o.side[1 - d.side] === 0;
      if (inc.segs.length > 0 || peerGone) r |= POLLIN | POLLRDNORM;
      if (peerGone) r |= POLLHUP;
      else if (out.free >= Math.min(PIPE_BUF, out.capacity)) r |= POLLOUT | POLLWRNORM;
    } else if (o instanceof ShmObj) {
      // As Linux polls a shared memory object (a file): always ready.
      r |= POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
    } else {
      if (d.mode & R && o.cur > 0) r |= POLLIN | POLLRDNORM;
      if (d.mode & W && o.cur < o.maxmsg) r |= POLLOUT | POLLWRNORM;
    }
    return r & (events | POLLHUP | POLLERR | POLLNVAL);
  }

  poll(pid: number, descs: Array<Desc | undefined>, p: Uint8Array): void {
    const timeout = readWord(p, 0) | 0;
    const entries = descs.map((desc, i) => ({ desc, events: readWord(p, 1 + i) }));
    const poller: Poller = { pid, entries, timer: undefined };
    if (this.#answerPoll(poller)) return;
    if (timeout === 0) return void this.#replyPoll(poller);
    if (timeout > 0)
      poller.timer = this.#s.timer(this.#s.now() + timeout * 1e6, () => {
        const i = this.#pollers.indexOf(poller);
        if (i >= 0) {
          this.#pollers.splice(i, 1);
          this.#replyPoll(poller);
        }
      });
    this.#pollers.push(poller);
  }

  /** Replies if any entry is ready; true if it replied. */
  #answerPoll(poller: Poller): boolean {
    for (const e of poller.entries) if (this.#revents(e.desc, e.events) !== 0) return this.#replyPoll(poller), true;
    return false;
  }

  #replyPoll(poller: Poller): void {
    if (poller.timer) this.#s.cancel(poller.timer);
    this.#s.reply(poller.pid, 0, 0, words(...poller.entries.map((e) => this.#revents(e.desc, e.events))));
  }

  again(): void {
    for (let i = 0; i < this.#pollers.length; ) {
      if (this.#answerPoll(this.#pollers[i]!)) this.#pollers.splice(i, 1);
      else i++;
    }
  }
}
