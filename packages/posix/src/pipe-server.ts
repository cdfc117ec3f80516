import { MSG_TRUNC, PIPE_BUF } from './constants.js';
import { type Chan, EMPTY, MAX_CHUNK, PipeObj, R, SockObj, W, type Desc, type InFlight, type ReadWaiter, type ServerCore } from './server-objects.js';
import { ReqFlag } from './wire.js';

/*
 * The object server's byte channels: pipes and socket pairs (a socket pair is two channels,
 * one per direction). Reads and writes are answered at once or wait in the channel's queues;
 * `pump` moves waiting writers' bytes in and answers waiting readers after each request.
 * Descriptors passed with `sendmsg` ride in the channel with the bytes they were sent with.
 */

/** @internal The pipes and socket pairs of the object server. */
export class ChannelServer {
  readonly #s: ServerCore;

  constructor(core: ServerCore) {
    this.#s = core;
  }

  /** `pipe`: two open file descriptions (the ends), each with status flags `status`. */
  pipe(pid: number, status: number): void {
    const obj = new PipeObj(this.#s.options.pipeCapacity);
    const r = this.#s.newDesc(obj, 0, R, pid, { status });
    let w;
    try {
      w = this.#s.newDesc(obj, 0, W, pid, { status });
    } catch (e) {
      this.#s.proc.close(r.cap);
      this.#s.retire(r.desc);
      throw e;
    }
    obj.readers = 1;
    obj.writers = 1;
    const ok = this.#s.reply(pid, 0, 0, EMPTY, [r.cap, w.cap]);
    this.#s.proc.close(r.cap);
    this.#s.proc.close(w.cap);
    if (!ok) {
      this.#s.retire(r.desc);
      this.#s.retire(w.desc);
    }
  }

  socketpair(pid: number, type: number, status: number): void {
    const obj = new SockObj(this.#s.options.socketCapacity, type);
    const a = this.#s.newDesc(obj, 0, R | W, pid, { status });
    let b;
    try {
      b = this.#s.newDesc(obj, 1, R | W, pid, { status });
    } catch (e) {
      this.#s.proc.close(a.cap);
      this.#s.retire(a.desc);
      throw e;
    }
    obj.side[0] = 1;
    obj.side[1] = 1;
    const ok = this.#s.reply(pid, 0, 0, EMPTY, [a.cap, b.cap]);
    this.#s.proc.close(a.cap);
    this.#s.proc.close(b.cap);
    if (!ok) {
      this.#s.retire(a.desc);
      this.#s.retire(b.desc);
    }
  }

  read(pid: number, d: Desc | undefined, count: number, flags: number, msg: boolean): void {
    if (!d || !(d.mode & R) || !(d.obj instanceof PipeObj || d.obj instanceof SockObj)) return void this.#s.fail(pid, 'EBADF');
    const ch = d.obj instanceof PipeObj ? d.obj.ch : d.obj.ch[(1 - d.side) as 0 | 1];
    count = Math.min(count, MAX_CHUNK);
    const peek = (flags & ReqFlag.PEEK) !== 0;
    if (ch.segs.length > 0) return void this.#deliver(ch, { pid, count, peek, msg });
    if (count === 0 && !ch.packet) return void this.#s.ok(pid, 0);
    if (ch.writers() === 0) return void this.#eof(pid, msg);
    if (flags & ReqFlag.NONBLOCK) return void this.#s.fail(pid, 'EAGAIN');
    ch.readQ.push({ pid, count, peek, msg });
  }

  #eof(pid: number, msg: boolean): boolean {
    return msg ? this.#s.replyWithDescs(pid, [], 0, [], EMPTY) : this.#s.reply(pid, 0);
  }

  /** Gives `r` what it may read now; consumes it only if the reply arrived. */
  #deliver(ch: Chan, r: ReadWaiter): boolean {
    let out: Uint8Array;
    let fds: InFlight[] | undefined;
    let used = 0;
    let arg = 0;
    if (ch.packet) {
      const s = ch.segs[0]!;
      const len = s.data.length;
      out = s.data.subarray(0, Math.min(len, r.count));
      if (r.count < len) arg = MSG_TRUNC;
      fds = s.fds;
    } else {
      const parts: Uint8Array[] = [];
      let n = 0;
      for (const s of ch.segs) {
        if (n >= r.count) break;
        if (s.fds && n > 0) break;
        if (s.fds) fds = s.fds;
        const take = Math.min(s.data.length - s.off, r.count - n);
        parts.push(s.data.subarray(s.off, s.off + take));
        n += take;
      }
      used = n;
      if (parts.length === 1) out = parts[0]!;
      else {
        out = new Uint8Array(n);
        let o = 0;
        for (const p of parts) {
          out.set(p, o);
          o += p.length;
        }
      }
    }
    const give = r.msg && !r.peek && fds ? fds : [];
    const ok = r.msg ? this.#s.replyWithDescs(r.pid, give, arg, [], out) : this.#s.reply(r.pid, 0, arg, out);
    if (!ok || r.peek) return ok;
    // Consume.
    if (ch.packet) {
      const s = ch.segs.shift()!;
      ch.bytes -= s.data.length;
      if (!r.msg) this.#s.releaseAll(s.fds);
    } else {
      const s0 = ch.segs[0]!;
      if (s0.fds) {
        if (!r.msg) this.#s.releaseAll(s0.fds);
        s0.fds = undefined;
      }
      let left = used;
      while (left > 0) {
        const s = ch.segs[0]!;
        const take = Math.min(s.data.length - s.off, left);
        s.off += take;
        left -= take;
        ch.bytes -= take;
        if (s.off === s.data.length) ch.segs.shift();
      }
    }
    this.#s.dirty.add(ch.owner);
    return true;
  }

  #append(ch: Chan, data: Uint8Array, fds: InFlight[] | undefined): void {
    ch.segs.push({ data, off: 0, fds });
    ch.bytes += data.length;
  }

  write(pid: number, d: Desc | undefined, data: Uint8Array, flags: number, passed: Array<Desc | undefined> | undefined): void {
    if (!d || !(d.mode & W) || !(d.obj instanceof PipeObj || d.obj instanceof SockObj)) return void this.#s.fail(pid, 'EBADF');
    const obj = d.obj;
    const ch = obj instanceof PipeObj ? obj.ch : obj.ch[d.side];
    let fds: InFlight[] | undefined;
    if (passed && passed.length) {
      if (passed.some((p) => p === undefined)) return void this.#s.fail(pid, 'EBADF');
      fds = passed.map((p) => ({ obj: p!.obj, side: p!.side, mode: p!.mode, file: p!.file }));
    }
    const n = data.length;
    if (ch.readers() === 0) return void this.#s.fail(pid, 'EPIPE');
    const nb = (flags & ReqFlag.NONBLOCK) !== 0;
    const take = () => {
      if (fds) for (const f of fds) this.#s.addRef(f.obj, f.side, f.mode);
    };
    if (ch.packet) {
      if (n > ch.capacity) return void this.#s.fail(pid, 'EMSGSIZE');
      if (ch.writeQ.length === 0 && ch.free >= n) {
        take();
        this.#append(ch, data, fds);
        this.#s.dirty.add(obj);
        return void this.#s.ok(pid, n);
      }
      if (nb) return void this.#s.fail(pid, 'EAGAIN');
      take();
      ch.writeQ.push({ pid, data, off: 0, atomic: true, fds });
      return;
    }
    if (n === 0) return void this.#s.ok(pid, 0);
    const atomic = n <= PIPE_BUF;
    if (nb) {
      if (ch.writeQ.length === 0 && (atomic ? ch.free >= n : ch.free > 0)) {
        const k = atomic ? n : Math.min(ch.free, n);
        take();
        this.#append(ch, data.subarray(0, k), fds);
        this.#s.dirty.add(obj);
        return void this.#s.ok(pid, k);
      }
      return void this.#s.fail(pid, 'EAGAIN');
    }
    take();
    ch.writeQ.push({ pid, data, off: 0, atomic, fds });
    this.#s.dirty.add(obj);
  }

  /** Moves waiting writers' bytes in and answers waiting readers, until neither can go on. */
  pump(ch: Chan): boolean {
    let progress = false;
    while (ch.writeQ.length) {
      const w = ch.writeQ[0]!;
      if (ch.readers() === 0) {
        ch.writeQ.shift();
        if (w.off === 0) this.#s.releaseAll(w.fds);
        if (w.off > 0) this.#s.ok(w.pid, w.off);
        else this.#s.fail(w.pid, 'EPIPE');
        progress = true;
        continue;
      }
      const rem = w.data.length - w.off;
      if (w.atomic) {
        if (ch.free < rem) break;
        this.#append(ch, w.off === 0 ? w.data : w.data.subarray(w.off), w.fds);
        w.off += rem;
      } else {
        const k = Math.min(ch.free, rem);
        if (k === 0) break;
        this.#append(ch, w.data.subarray(w.off, w.off + k), w.off === 0 ? w.fds : undefined);
        w.off += k;
      }
      progress = true;
      if (w.off < w.data.length) break;
      ch.writeQ.shift();
      this.#s.ok(w.pid, w.data.length);
    }
    while (ch.readQ.length) {
      const r = ch.readQ[0]!;
      if (ch.segs.length > 0) {
        ch.readQ.shift();
        this.#deliver(ch, r);
        progress = true;
      } else if (ch.writers() === 0) {
        ch.readQ.shift();
        this.#eof(r.pid, r.msg);
        progress = true;
      } else break;
    }
    return progress;
  }
}
