import { IPC_ERROR_NUMBERS, IpcError } from '../../contracts/errors.js';
import { KERNEL_MESSAGE_FLAGS, MAX_SMALL_CAPS, MAX_SMALL_DATA, MessageFlags, type MessageBuffer, type SmallMessage } from '../../contracts/message.js';
import type { KernelContext } from '../context.js';
import { E, M, NONE, P, PState, S } from '../records/layout.js';
import { RegistryWord } from '../records/registry-word.js';
import { byteCount } from '../../contracts/user-bytes.js';

/** Process-record words of a capability space saved for an exact undo. */
const CS_WORDS = [P.CS_FREE_HEAD, P.CS_FREE_TAIL, P.CS_FREE, P.CS_USED_HEAD, P.CS_SEQ] as const;
/** Slots an undo may restore: the ≤ 4 filled ones and the used-list head they were linked before. */
const UNDO_SLOTS = 5;

/** One passive call in flight (they nest: a handler may call another passive server). */
interface Frame {
  caller: number;
  callerPid: number;
  server: number;
  serverPid: number;
  e: number;
  egen: number;
  capCount: number;
  /** CS_SEQ of the server right after the delivery (undo is exact only if unchanged). */
  seqAfter: number;
  handles: Int32Array;
  savedCs: Int32Array;
  savedRefs: Int32Array;
  savedSlots: Int32Array;
}

/**
 * The passive-server fast path (seL4's scheduling-context donation): a call from this CPU to
 * a passive server waiting in receive delivers the request straight into the server's
 * request buffer and runs its handler at once, on the caller's time, with no task switch —
 * and with the kernel lock released: the handler is user code and may make any syscall. Its
 * reply enters the kernel again ({@link PassiveIpc.finish}). A call whose reply cannot be
 * delivered, or whose handler fails, is undone as a whole: the server gets back to waiting
 * with its capability space exactly as before (word for word, when the handler did not change
 * it meanwhile). Nothing is allocated per call once the nesting depth has been seen.
 */
export class PassiveIpc {
  readonly #k: KernelContext;
  readonly #stack: Frame[] = [];
  #depth = 0;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /** Caller (`'caller'`) or server record of the innermost passive call in flight (NONE when none). */
  top(who: 'caller' | 'server'): number {
    const f = this.#stack[this.#depth - 1];
    return f === undefined ? NONE : who === 'caller' ? f.caller : f.server;
  }

  /** Calls in flight on this CPU. */
  get depth(): number {
    return this.#depth;
  }

  /**
   * Delivers the scratch message of caller `p` (checked, room checked) to passive server `r`
   * into `buf` (`decoded`: the fast path has already written the message words there): the
   * server leaves the receive queue and is marked serving. Lock held; cannot fail.
   */
  begin(p: number, r: number, buf: MessageBuffer, decoded = false): void {
    const k = this.#k;
    const { procs, eps, slots, messages: msg } = k;
    const f = this.#push();
    const e = procs.get(r, P.WAIT_EP);
    f.caller = p;
    f.callerPid = procs.pid(p);
    f.server = r;
    f.serverPid = procs.pid(r);
    f.e = e;
    f.egen = eps.registry(e);
    const n = msg.capCount;
    f.capCount = n;
    // Save what the mints will touch, so a refused reply can restore it exactly.
    if (n > 0) {
      for (let i = 0; i < CS_WORDS.length; i++) f.savedCs[i] = procs.get(r, CS_WORDS[i]!);
      let refs = 0;
      const used = procs.get(r, P.CS_USED_HEAD);
      if (used !== NONE) f.savedRefs[refs++] = slots.ref(r, used);
      for (let i = 0, s = procs.get(r, P.CS_FREE_HEAD); i < n && s !== NONE; i++, s = slots.get(slots.ref(r, s), S.NEXT)) f.savedRefs[refs++] = slots.ref(r, s);
      for (let i = 0; i < UNDO_SLOTS; i++) f.savedRefs[i] = i < refs ? f.savedRefs[i]! : -1;
      for (let i = 0; i < refs; i++) slots.save(f.savedRefs[i]!, f.savedSlots, i * S.SIZE);
    }
    // Commit.
    k.queues.removeReceiver(e, r);
    procs.setState(r, PState.PASSIVE);
    eps.set(e, E.PASSIVE, r);
    eps.set(e, E.MSGS, eps.get(e, E.MSGS) + 1);
    if (!decoded) k.arch.fastPath.decode(msg.scratch, buf);
    // A large request's descriptor (and buffer) goes to the server: its handler reads it first.
    if (msg.flags & MessageFlags.LARGE) k.large.move(p, r);
    for (let i = 0; i < n; i++) {
      const h = msg.mint(r, msg.scratchCaps, i * M.CAP_WORDS);
      f.handles[i] = h | 0;
      buf.caps[i] = h;
    }
    buf.sender = f.callerPid;
    buf.flags = (buf.flags & ~KERNEL_MESSAGE_FLAGS) | MessageFlags.CALL;
    buf.large = null;
    buf.largeCaps = null;
    buf.buffer = null;
    f.seqAfter = procs.get(r, P.CS_SEQ);
  }

  /**
   * The handler of the innermost passive call returned (`failure` undefined: its reply is
   * encoded in this CPU's scratch, a large one staged) or failed. Delivers the reply into the
   * caller's `reply` buffer (a large one's frames to the caller), or undoes the call and throws
   * what the caller gets. Either way the server
   * is back waiting on its endpoint (or told `ChannelClosed` if the endpoint closed). Lock held.
   */
  finish(failure: IpcError | undefined, reply: MessageBuffer, small: SmallMessage | null): void {
    const k = this.#k;
    const f = this.#stack[--this.#depth]!;
    const { procs, messages: msg } = k;
    const r = procs.live(f.server) && procs.pid(f.server) === f.serverPid ? f.server : NONE;
    const p = procs.live(f.caller) && procs.pid(f.caller) === f.callerPid ? f.caller : NONE;
    let error = failure;
    if (!error && r === NONE) error = new IpcError('ChannelClosed', 'the server exited while handling the call');
    if (!error && p === NONE) error = new IpcError('ProcessNotFound', 'the caller is gone');
    if (!error && small) {
      // A small reply (checked by the caller: u32 type, ≤ 64 bytes, ≤ 4 u32 handles) goes from
      // the handler's value to the caller's buffer; its capabilities are resolved here (SHARE).
      try {
        const caps = small.caps;
        const n = caps === undefined ? 0 : caps.length;
        for (let i = 0; i < n; i++) msg.snapshotCap(f.server, caps![i]!, msg.scratchCaps, i * M.CAP_WORDS);
        msg.checkRoom(p, n, false, 0);
      } catch (e) {
        error = e instanceof IpcError ? e : new IpcError('InvalidState', 'passive reply failed', { cause: e });
      }
      // Read once and checked by the caller (passive-call.ts); a length changed since can only
      // come from a host callback in between: refused, never copied past the buffer.
      if (!error && byteCount(small.data) > MAX_SMALL_DATA) error = new IpcError('InvalidArgument', 'response data changed size while it was delivered');
      if (!error) {
        const len = byteCount(small.data);
        reply.type = small.type;
        reply.length = len;
        const bytes = reply.bytes;
        bytes.set(small.data);
        if (len < MAX_SMALL_DATA) bytes.fill(0, len);
        const n = small.caps === undefined ? 0 : small.caps.length;
        reply.capCount = n;
        const rc = reply.caps;
        for (let i = 0; i < n; i++) rc[i] = msg.mint(p, msg.scratchCaps, i * M.CAP_WORDS);
        for (let i = n; i < MAX_SMALL_CAPS; i++) rc[i] = 0;
        reply.sender = f.serverPid;
        reply.flags = MessageFlags.REPLY;
      }
    } else if (!error) {
      try {
        // A large reply: staged, with its registers encoded on the server's behalf into the scratch.
        msg.check(f.server);
        const large = (msg.flags & MessageFlags.LARGE) !== 0;
        if (large && k.endpoints.registerOnly(f.e)) throw new IpcError('MessageTooLarge', 'the endpoint carries register messages only (≤ 64 bytes, ≤ 4 capabilities)');
        msg.checkRoom(p, msg.capCount, large, k.large.outgoingCaps(f.server), f.server);
      } catch (e) {
        error = e instanceof IpcError ? e : new IpcError('InvalidState', 'passive reply failed', { cause: e });
      }
      if (!error) {
        // Handed straight to the caller's reply buffer (the caller is on this CPU, in this call):
        // the registers need not make a round trip through its frame.
        k.arch.fastPath.decode(msg.scratch, reply);
        reply.sender = f.serverPid;
        reply.flags = (reply.flags & ~KERNEL_MESSAGE_FLAGS) | MessageFlags.REPLY;
        for (let i = 0; i < reply.capCount; i++) reply.caps[i] = msg.mint(p, msg.scratchCaps, i * M.CAP_WORDS);
        if (msg.flags & MessageFlags.LARGE) k.large.move(f.server, p);
      }
    }
    if (error && r !== NONE) {
      k.large.dropOutgoing(r);
      // A large request the handler never got to read (no room for its buffer) is dropped.
      k.large.dropIncoming(r);
      this.#undo(f);
    }
    if (r !== NONE) this.#resume(f);
    if (error) throw error;
  }

  /** Server `f.server` goes back to waiting on its endpoint, or learns it closed. */
  #resume(f: Frame): void {
    const k = this.#k;
    const e = f.e;
    if (k.eps.get(e, E.PASSIVE) === f.server) k.eps.set(e, E.PASSIVE, NONE);
    if (k.procs.state(f.server) !== PState.PASSIVE) return;
    if (RegistryWord.matches(k.eps.registry(e), f.egen)) k.sync.resumeReceive(f.server, e);
    else {
      k.procs.set(f.server, P.WAIT_EP, NONE);
      k.wake.wake(f.server, IPC_ERROR_NUMBERS.ChannelClosed);
    }
  }

  /** Takes the delivery back: the message count, and the minted capabilities. */
  #undo(f: Frame): void {
    const k = this.#k;
    const { procs, slots, caps, eps } = k;
    if (RegistryWord.matches(eps.registry(f.e), f.egen)) eps.set(f.e, E.MSGS, eps.get(f.e, E.MSGS) - 1);
    if (f.capCount === 0) return;
    const r = f.server;
    if (procs.get(r, P.CS_SEQ) === f.seqAfter) {
      for (let i = 0; i < UNDO_SLOTS && f.savedRefs[i]! >= 0; i++) slots.restore(f.savedRefs[i]!, f.savedSlots, i * S.SIZE);
      for (let i = 0; i < CS_WORDS.length; i++) procs.set(r, CS_WORDS[i]!, f.savedCs[i]!);
      return;
    }
    // The handler changed its space meanwhile: drop what is left of the minted capabilities.
    for (let i = 0; i < f.capCount; i++) {
      const s = caps.find(r, f.handles[i]! >>> 0);
      if (s >= 0) caps.remove(r, s);
    }
  }

  #push(): Frame {
    let f = this.#stack[this.#depth];
    if (!f) {
      f = {
        caller: NONE,
        callerPid: 0,
        server: NONE,
        serverPid: 0,
        e: NONE,
        egen: 0,
        capCount: 0,
        seqAfter: 0,
        handles: new Int32Array(4),
        savedCs: new Int32Array(CS_WORDS.length),
        savedRefs: new Int32Array(UNDO_SLOTS),
        savedSlots: new Int32Array(UNDO_SLOTS * S.SIZE),
      };
      this.#stack.push(f);
    }
    this.#depth++;
    return f;
  }
}
