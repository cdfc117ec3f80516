import { POLLERR, POLLHUP, POLLNVAL } from './constants.js';
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

/** Longest finite wait (ms): POSIX's `int` timeout; a larger number waits this long. */
const MAX_TIMEOUT_MS = 0x7fffffff;

function* pollSteps(t: FdTable, fds: PollFd[], nfdsArg: number | undefined, timeout: number): Steps<number> {
  if (!Array.isArray(fds)) throw new PosixError('EFAULT', 'poll', { detail: 'fds must be an array of { fd, events, revents }' });
  const nfds = nfdsArg ?? fds.length;
  if (!Number.isInteger(nfds) || nfds < 0 || nfds > fds.length) throw new PosixError('EINVAL', 'poll');
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) throw new PosixError('EINVAL', 'poll', { detail: 'timeout must be a number of milliseconds (negative: forever)' });
  for (let i = 0; i < nfds; i++) {
    const p = fds[i] as PollFd | null | undefined;
    if (typeof p !== 'object' || p === null || typeof p.fd !== 'number' || typeof p.events !== 'number') throw new PosixError('EFAULT', 'poll', { detail: `fds[${i}] must be { fd, events, revents }` });
  }
  // One request entry per distinct descriptor (the limit counts descriptors, not entries).
  const unique: number[] = [];
  const slot: number[] = new Array<number>(nfds).fill(-1);
  const events: number[] = [];
  let invalid = 0;
  for (let i = 0; i < nfds; i++) {
    const p = fds[i]!;
    p.revents = 0;
    if (p.fd < 0) continue;
    if (!t.get(p.fd)) {
      p.revents = POLLNVAL;
      invalid++;
      continue;
    }
    let u = unique.indexOf(p.fd);
    if (u < 0) {
      u = unique.push(p.fd) - 1;
      events.push(0);
    }
    events[u]! |= p.events & 0xffff;
    slot[i] = u;
  }
  if (unique.length > MAX_CAPS_PER_CALL) throw new PosixError('EINVAL', 'poll', { detail: `at most ${MAX_CAPS_PER_CALL} distinct descriptors` });
  const ms = invalid > 0 ? 0 : timeout < 0 ? -1 : Math.min(Math.floor(timeout), MAX_TIMEOUT_MS);
  if (unique.length === 0) {
    if (invalid === 0 && ms !== 0) yield* sleepSteps(ms);
    return invalid;
  }
  const reply = yield { op: Op.POLL, data: words(ms, ...events), caps: unique.map((fd) => t.get(fd)!.d.cap) };
  let n = invalid;
  for (let i = 0; i < nfds; i++) {
    const u = slot[i]!;
    if (u < 0) continue;
    const p = fds[i]!;
    // Each entry sees its own events of what the descriptor reported (and the conditions always reported).
    p.revents = readWord(reply.data, u) & ((p.events & 0xffff) | POLLHUP | POLLERR | POLLNVAL);
    if (p.revents) n++;
  }
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
    poll(fds: PollFd[], nfds?: number, timeout = -1) { return drive.async(this, 'poll', (t) => pollSteps(t, fds, nfds, timeout)); },
    pollSync(fds: PollFd[], nfds?: number, timeout = -1) { return drive.sync(this, 'poll', (t) => pollSteps(t, fds, nfds, timeout)); },
  });
}
