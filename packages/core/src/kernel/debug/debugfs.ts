import type { KernelEvent } from './events.js';
import type { MessageTrace } from './api.js';

/** The debugfs directory of the IPC system. */
export const DEBUGFS_ROOT = '/sys/kernel/debug/ipc';

/** Lines `/messages` shows at most (the newest traced events). */
export const DEBUGFS_MESSAGES = 256;

const ERRNO = { ENOENT: -2, EACCES: -13, EINVAL: -22, EISDIR: -21 } as const;

/** A debugfs failure, shaped like a Node.js system error (`code`, `errno`, `syscall`, `path`). */
export class DebugFsError extends Error {
  readonly code: keyof typeof ERRNO;
  readonly errno: number;
  readonly syscall: 'open' | 'read' | 'write';
  readonly path: string;

  constructor(code: keyof typeof ERRNO, syscall: 'open' | 'read' | 'write', path: string, detail: string) {
    super(`${code}: ${detail}, ${syscall} '${path}'`);
    this.name = 'DebugFsError';
    this.code = code;
    this.errno = ERRNO[code];
    this.syscall = syscall;
    this.path = path;
  }
}

const FILES = ['trace', 'messages', 'channels'] as const;

/** Nanoseconds as Linux prints timestamps: seconds with six decimals. */
function stamp(ns: number): string {
  return `[${(ns / 1e9).toFixed(6).padStart(12)}]`;
}

function line(e: KernelEvent): string {
  const lat = e.latency === null ? '' : ` latency=${e.latency}ns`;
  const flow = e.flow || e.callFlow ? ` flow=${e.flow || e.callFlow}` : '';
  return `${stamp(e.ts)} cpu${e.cpu} ${e.kind} src=${e.src} dst=${e.dst} ep=${e.endpoint} type=${e.type} size=${e.size} caps=${e.caps} ${e.result}${flow}${lat}`;
}

function ns(v: number | null): string {
  return v === null ? '-' : String(v);
}

/**
 * A debugfs view of the IPC system (`kernel.debugfs`), plain text like Linux's:
 *
 * | path | read | write |
 * | --- | --- | --- |
 * | `/sys/kernel/debug/ipc/trace` | `1` or `0` and a newline | `1` turns the message trace on, `0` off |
 * | `/sys/kernel/debug/ipc/messages` | the newest traced events (≤ 256), one per line | — |
 * | `/sys/kernel/debug/ipc/channels` | a header and one line per open endpoint, then one per open async channel and topic (named `(async)` / `(topic)`): messages, bytes, queue depth, drops, contention, latency p50/p99/p999 (ns) | — |
 *
 * Reading the directory lists the files. An unknown path fails with a {@link DebugFsError} of
 * code `ENOENT`; writing a read-only file `EACCES`; writing anything but `0`/`1` to `trace`
 * `EINVAL`.
 *
 * @example
 * ```ts
 * kernel.debugfs.write('/sys/kernel/debug/ipc/trace', '1');
 * // … run processes …
 * console.log(kernel.debugfs.read('/sys/kernel/debug/ipc/channels'));
 * ```
 */
export class DebugFs {
  readonly #trace: MessageTrace;

  /** @internal */
  constructor(trace: MessageTrace) {
    this.#trace = trace;
  }

  /** Reads the file at `path`. */
  read(path: string): string {
    switch (this.#file(path)) {
      case '':
        return FILES.join('\n') + '\n';
      case 'trace':
        return this.#trace.enabled ? '1\n' : '0\n';
      case 'messages':
        return this.#trace
          .events()
          .slice(-DEBUGFS_MESSAGES)
          .map((e) => line(e) + '\n')
          .join('');
      default: {
        const rows = this.#trace.channels().map((c) => `${c.endpoint} ${c.name ?? (c.kind === 'endpoint' ? '-' : `(${c.kind})`)} ${c.owner} ${c.messages} ${c.bytes} ${c.queueDepth} ${c.drops} ${c.contention} ${ns(c.p50)} ${ns(c.p99)} ${ns(c.p999)}\n`);
        return 'endpoint name owner messages bytes queue drops contention p50_ns p99_ns p999_ns\n' + rows.join('');
      }
    }
  }

  /** Writes `text` to the file at `path` (only `trace` is writable). */
  write(path: string, text: string): void {
    const f = this.#file(path);
    if (f !== 'trace') throw new DebugFsError(f === '' ? 'EISDIR' : 'EACCES', 'write', path, f === '' ? 'is a directory' : 'read-only file');
    const v = typeof text === 'string' ? text.trim() : '';
    if (v === '1') this.#trace.enable();
    else if (v === '0') this.#trace.disable();
    else throw new DebugFsError('EINVAL', 'write', path, 'write 1 (on) or 0 (off)');
  }

  /** The file `path` names ('' for the directory); `ENOENT` otherwise. */
  #file(path: unknown): (typeof FILES)[number] | '' {
    if (typeof path !== 'string') throw new DebugFsError('ENOENT', 'open', String(path), 'no such file or directory');
    const p = path.replace(/\/+$/, '');
    if (p === DEBUGFS_ROOT) return '';
    const name = p.startsWith(DEBUGFS_ROOT + '/') ? p.slice(DEBUGFS_ROOT.length + 1) : undefined;
    const f = FILES.find((x) => x === name);
    if (f === undefined) throw new DebugFsError('ENOENT', 'open', path, 'no such file or directory');
    return f;
  }
}
