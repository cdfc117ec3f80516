import { messageCaps, type Process } from '@veridian/core';
import { O_NONBLOCK } from './constants.js';
import { ERRNO } from './errno.js';
import { EMPTY, type Desc } from './server-objects.js';
import { replyType } from './wire.js';

/*
 * File status flags of open file descriptions (`fcntl` `F_GETFL` / `F_SETFL`). The flags live
 * in the object server, with the description (`Desc.file`, shared by every description made
 * from it by `SCM_RIGHTS` or inheritance), and the server reads `O_NONBLOCK` from there in the
 * same request as each `read`/`write`/`mq_send`/… — so a flag set in one process is seen in
 * every other that holds the description, and no call takes an extra round trip.
 *
 * `fcntl` is synchronous. From a worker CPU it is one `callSync` to `posixd` (`Op.FCNTL_FL`).
 * On CPU 0 a process cannot wait for `posixd` (same thread), so a second server process,
 * `posix.fl`, serves the flags passively: a `callSync` to it runs the handler at once on the
 * caller's time. Both present the descriptor's capability, as every request does.
 */

/** Name of the passive flag server's endpoint (CPU 0 callers). */
export const FLAGS_ENDPOINT = 'posix.fl';

/** The status flags `F_SETFL` changes (others are ignored, as POSIX allows for bits it does not define). */
export const SETTABLE_FLAGS = O_NONBLOCK;

/** `F_GETFL` (`set` 0) or `F_SETFL` (`set` 1, to `arg`) on description `d`; returns its status flags after. */
export function setStatus(d: Desc, set: number, arg: number): number {
  if (set === 1) d.file.status = (d.file.status & ~SETTABLE_FLAGS) | (arg & SETTABLE_FLAGS);
  return d.file.status;
}

/**
 * Serves `F_GETFL` / `F_SETFL` for CPU-0 callers on endpoint {@link FLAGS_ENDPOINT} (a passive
 * server: the handler runs on the caller's time), on the object server's descriptions `descs`.
 * A request's type is `reqType(Op.FCNTL_FL, set, arg)`, its capability the descriptor's; the
 * reply's type is `replyType(errno, status flags)`.
 */
export function serveFlags(proc: Process, descs: ReadonlyMap<number, Desc>): Promise<void> {
  const ep = proc.createEndpoint({ name: FLAGS_ENDPOINT, capacity: 64 });
  return proc.serve(ep, (m) => {
    let d: Desc | undefined;
    for (const h of messageCaps(m)) {
      try {
        d ??= descs.get(proc.inspect(h).resource);
      } catch {
        /* not a capability of ours */
      }
      try {
        proc.close(h);
      } catch {
        /* already gone */
      }
    }
    if (!d) return { type: replyType(ERRNO.EBADF), data: EMPTY };
    return { type: replyType(0, setStatus(d, (m.type >>> 8) & 0xff, m.type >>> 16)), data: EMPTY };
  });
}
