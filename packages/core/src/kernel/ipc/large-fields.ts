import { IpcError } from '../../contracts/errors.js';
import { MAX_LARGE_CAPS, type SmallMessage } from '../../contracts/message.js';
import { byteCount } from '../../contracts/user-bytes.js';
import { checkBuffer, checkCapsArray, isU32, readHandles } from '../args.js';
import { Mode } from './transfer.js';

const NO_CAPS: readonly number[] = Object.freeze([]);

/**
 * A large message's fields as user code handed them over, read once each into kernel-owned
 * storage before the kernel lock is taken: every read of the message object (a getter, a
 * `Proxy`, an array element) is user code, which may be slow or make a syscall of its own, and
 * none may run while a CPU holds the kernel. The staging step (`Syscalls`) then checks and
 * commits from these values only.
 */
export class LargeFields {
  /** The capability handles (the first {@link LargeFields.ncaps}). */
  readonly handles = new Uint32Array(MAX_LARGE_CAPS);
  ncaps = 0;
  /** The payload's length, read last (a getter run after it could resize the payload). */
  length = 0;
  /** The buffer's transfer mode ({@link Mode}; `NONE` without a buffer), address and length. */
  mode: number = Mode.NONE;
  va: number | undefined = undefined;
  bytes: number | undefined = undefined;
  #reading = false;

  /** Reads and checks `m`'s fields (arguments only: nothing of the kernel's is looked at). */
  read(m: SmallMessage): void {
    // A getter that sends a large message itself would overwrite these fields half-way.
    if (this.#reading) throw new IpcError('InvalidState', "a large message's getter sent a large message while the first was being read");
    this.#reading = true;
    try {
      const caps = m.caps ?? NO_CAPS;
      checkCapsArray(caps, 'message');
      const ncaps = caps.length;
      if (!isU32(ncaps) || ncaps > MAX_LARGE_CAPS) throw new IpcError('MessageTooLarge', `${String(ncaps)} capabilities exceed the ${MAX_LARGE_CAPS}-capability limit`);
      readHandles(caps, ncaps, this.handles, 'message');
      const b = m.buffer;
      const mode = b === undefined ? Mode.NONE : checkBuffer(b, m.transfer, 'message');
      const va = b?.va;
      const bytes = b?.length;
      const length = byteCount(m.data);
      if (length < 0) throw new IpcError('InvalidArgument', 'message.data must be a Uint8Array');
      this.ncaps = ncaps;
      this.mode = mode;
      this.va = va;
      this.bytes = bytes;
      this.length = length;
    } finally {
      this.#reading = false;
    }
  }
}
