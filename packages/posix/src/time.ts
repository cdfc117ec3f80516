import { PosixError } from './error.js';
import type { Timespec } from './types.js';
import { BAD_TIMESPEC } from './wire.js';

/*
 * Time: `clock_gettime(CLOCK_REALTIME)`, the clock of the `abs_timeout` of `mq_timedsend` /
 * `mq_timedreceive`, and the conversion of an absolute timeout to the relative one the object
 * server waits for.
 */

/** `abs_timeout` as nanoseconds from now (0 if past; BAD_TIMESPEC if malformed). */
export function relative(abs: Timespec): number {
  if (typeof abs !== 'object' || abs === null || !Number.isFinite(abs.tv_sec) || !Number.isInteger(abs.tv_nsec) || abs.tv_nsec < 0 || abs.tv_nsec >= 1e9) return BAD_TIMESPEC;
  const ns = abs.tv_sec * 1e9 + abs.tv_nsec - Date.now() * 1e6;
  return ns > 0 ? ns : 0;
}

/** `CLOCK_REALTIME`, the clock of `abs_timeout`. */
export const CLOCK_REALTIME = 0;

/** `clock_gettime(CLOCK_REALTIME)`: now, as a {@link Timespec} (to build an `abs_timeout`). */
export function clock_gettime(clock_id: number = CLOCK_REALTIME): Timespec {
  if (clock_id !== CLOCK_REALTIME) throw new PosixError('EINVAL', 'clock_gettime');
  const ms = Date.now();
  return { tv_sec: Math.floor(ms / 1000), tv_nsec: (ms % 1000) * 1e6 };
}

/** A {@link Timespec} `ms` milliseconds from now. */
export function timespecIn(ms: number): Timespec {
  const t = Date.now() + ms;
  return { tv_sec: Math.floor(t / 1000), tv_nsec: Math.round((t % 1000) * 1e6) };
}
