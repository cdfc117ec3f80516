import { POLLNVAL } from './constants.js';
import { define, type Drive } from './driver.js';
import { PosixError } from './error.js';
import type { FdTable } from './fd-table.js';
import { MAX_CAPS_PER_CALL } from './io.js';
import type { Posix } from './posix.js';
import type { PollFd, Steps } from './types.js';
import { Op, readWord, words } from './wire.js';

/*
 * `poll`: the readiness of up to 63 descriptors, answered (and waited for) by the object server
 * (poll-server.ts).
 */

declare module './posix.js' {
  interface Posix {
    /**
     * `poll(fds, nfds, timeout)`: waits until one of the first `nfds` entries is ready or
     * `timeout` ms pass (0: do not wait; −1: forever); writes each `revents` and resolves with how
     * many are non-zero. Pipes, queues and sockets: `POLLIN`/`POLLRDNORM` (data, or end of file),
     * `POLLOUT`/`POLLWRNORM` (a write of `PIPE_BUF` bytes, or a message, fits), `POLLHUP` (no
     * writer left / peer closed), `POLLERR` (a pipe's write end with no reader), `POLLNVAL` (not
     * open); a negative `fd` is skipped. `POLLHUP`, `POLLERR` and `POLLNVAL` are reported whatever
     * `events` says. Errors: `EINVAL` (`nfds` > `fds.length`, or over 63 distinct open descriptors).
     */
    poll(fds: PollFd[], nfds?: number, timeout?: number): Promise<number>;
    /** {@link Posix.poll} on a worker CPU. */
    pollSync(fds: PollFd[], nfds?: number, timeout?: number): number;
  }
}

function* pollSteps(t: FdTable, fds: PollFd[], nfds: number, timeout: number): Steps<number> {
  if (!Number.isInteger(nfds) || nfds < 0 || nfds > fds.length) throw new PosixError('EINVAL', 'poll');
  const ask: number[] = [];
  let invalid = 0;
  for (let i = 0; i < nfds; i++) {
    const p = fds[i]!;
    p.revents = 0;
    if (p.fd < 0) continue;
    if (!t.get(p.fd)) {
      p.revents = POLLNVAL;
      invalid++;
    } else ask.push(i);
  }
  if (ask.length > MAX_CAPS_PER_CALL) throw new PosixError('EINVAL', 'poll', { detail: `at most ${MAX_CAPS_PER_CALL} descriptors` });
  const ms = invalid > 0 ? 0 : timeout < 0 ? -1 : Math.floor(timeout);
  if (ask.length === 0) {
    if (invalid === 0 && ms !== 0) yield* sleepSteps(ms);
    return invalid;
  }
  const reply = yield { op: Op.POLL, data: words(ms, ...ask.map((i) => fds[i]!.events & 0xffff)), caps: ask.map((i) => t.get(fds[i]!.fd)!.d.cap) };
  let n = invalid;
  ask.forEach((i, k) => {
    fds[i]!.revents = readWord(reply.data, k);
    if (fds[i]!.revents) n++;
  });
  return n;
}

/** `poll` with nothing to watch: a sleep (forever for −1, as POSIX says; here: until the process is killed). */
function* sleepSteps(ms: number): Steps<void> {
  // An empty poll through the server waits for its timeout there (no descriptor can wake it).
  yield { op: Op.POLL, data: words(ms) };
}

/** Adds the poll methods to `Posix.prototype` (called once by posix.ts). @internal */
export function installPoll(proto: Posix, drive: Drive): void {
  define(proto, {
    poll(fds: PollFd[], nfds: number = fds.length, timeout = -1) { return drive.async(this, 'poll', (t) => pollSteps(t, fds, nfds, timeout)); },
    pollSync(fds: PollFd[], nfds: number = fds.length, timeout = -1) { return drive.sync(this, 'poll', (t) => pollSteps(t, fds, nfds, timeout)); },
  });
}
