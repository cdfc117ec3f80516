import { KERNEL_MESSAGE_FLAGS, MessageInfo, readSlot, writeSlot, type Arch, type FastPathAbi, type RegisterSlot } from '@veridian/core';

/** What a {@link spoofingArch} writes into every frame it encodes. */
export interface Forgery {
  /** Pid to write into the sender slot (when the arch gives the sender a slot of its own); 0 = none. */
  sender: number;
  /** Frames whose sender slot was forged. */
  forgedSenders: number;
  /** Set by {@link spoofingArch}: whether the arch gives the sender a register slot of its own (else only the flags are forged). */
  senderSlotForgeable?: boolean;
}

const same = (a: RegisterSlot, b: RegisterSlot) => a.reg === b.reg && a.half === b.half;

/**
 * Wraps an arch so that every message user code encodes also carries forged kernel-owned
 * fields, as a hostile process writing its registers directly would: the kernel-only message
 * flags (CALL, REPLY) set in the info word, and `forgery.sender` in the sender slot. The
 * kernel must overwrite both on delivery.
 */
export function spoofingArch(arch: Arch, forgery: Forgery): Arch {
  const fp = arch.fastPath;
  const L = fp.layout;
  const others = [L.syscall, L.endpoint, L.info, L.type, ...L.caps];
  const senderOwnSlot = !others.some((s) => same(s, L.sender)) && !L.data.includes(L.sender.reg);
  forgery.senderSlotForgeable = senderOwnSlot;
  const fastPath: FastPathAbi = {
    arch: fp.arch,
    registerNames: fp.registerNames,
    registerCount: fp.registerCount,
    layout: L,
    encode(syscall, endpoint, message, frame) {
      fp.encode(syscall, endpoint, message, frame);
      writeSlot(frame, L.info, readSlot(frame, L.info) | (KERNEL_MESSAGE_FLAGS << MessageInfo.FLAGS_SHIFT));
      if (senderOwnSlot && forgery.sender !== 0) {
        writeSlot(frame, L.sender, forgery.sender);
        forgery.forgedSenders++;
      }
    },
    decode: (frame, out) => fp.decode(frame, out),
  };
  return {
    name: arch.name,
    pageSizes: arch.pageSizes,
    addressSpace: arch.addressSpace,
    fastPath,
    createMmu: (phys, options) => arch.createMmu(phys, options),
    moduleUrl: arch.moduleUrl,
    exportName: arch.exportName,
  };
}
