import { IpcError } from '../../contracts/errors.js';
import { AccessKind, PageMarker, PagePerm, type AddressSpace, type PageFault, type PageFaultHandler, type VirtualAddress } from '../../contracts/mmu.js';
import { FRAME_SIZE, PhysicalMemory, pageOffset } from '../../memory/physical-memory.js';
import { frameOps } from '../../mmu/frame-ops.js';
import type { FrameRefs } from './frame-refs.js';

/**
 * The pending page at `va` of the process faulting in `space` (its frame, perms and markers, and
 * the frames a private copy of its shared page list takes first: see `vm/list-sets.ts`),
 * installed when `install` is true; undefined when nothing is pending there.
 */
export type PendingInstall = (space: AddressSpace, va: number, install: boolean) => { perms: number; markers: number; frame: number; lists: number } | undefined;

/** Spare frames a copy-on-write break wants free besides the copy (page tables it may need to rebuild). */
const TABLE_SLACK = 4;

/**
 * The kernel's page-fault handler (`Mmu.onFault`), the repair half of lazy mapping and
 * copy-on-write:
 *
 * - **lazy**: a LAZY entry records its frame; the first access makes it present — unless the
 *   frame is being carried by a Move in flight (the sender's parked pages), which faults;
 * - **copy-on-write**: a write to a COW page copies it into a fresh frame when another
 *   mapping still shares the frame (only that page; the others keep the old contents), or
 *   simply makes it writable again when this is the last reference;
 * - **access flag**: on a CPU that leaves the accessed flag to software, sets it
 *   ({@link AddressSpace.setAccessed}).
 *
 * Every other fault is left to throw. Runs inside the kernel's memory accesses, lock held.
 */
export function kernelFaultHandler(phys: PhysicalMemory, refs: FrameRefs, pending: PendingInstall, parked: (va: VirtualAddress) => boolean): PageFaultHandler {
  const scratch = new Int32Array(1);
  const one = new Int32Array(1);
  return (fault: PageFault, space: AddressSpace): boolean => {
    if (fault.reason === 'access-flag') {
      // A CPU that leaves the accessed flag to software: set it on the page (or the block that
      // maps it) and let the access retry. A backend without setAccessed cannot be helped.
      if (typeof space.setAccessed !== 'function') return false;
      const at = Number(fault.address);
      const va = fault.mapping ? Number(fault.mapping.va) : at - pageOffset(at);
      return space.setAccessed(va, fault.mapping ? fault.mapping.size : FRAME_SIZE) > 0;
    }
    let m: { readonly va: VirtualAddress; readonly pa: number; readonly size: number; readonly perms: number; readonly markers: number } | undefined = fault.mapping;
    if (m === undefined && fault.reason === 'not-present') {
      // A pending page (a received buffer not touched yet): install it from its range's list.
      const at = Number(fault.address);
      const page = at - pageOffset(at);
      const peek = pending(space, page, false);
      if (peek === undefined) return false;
      const breaks = fault.access === AccessKind.Write && (peek.markers & PageMarker.COPY_ON_WRITE) !== 0;
      // An access the page will not allow once installed faults now, with the page still pending.
      const need = fault.access === AccessKind.Write ? PagePerm.WRITE : fault.access === AccessKind.Execute ? PagePerm.EXECUTE : PagePerm.READ;
      if ((peek.perms & need) === 0 && !breaks) return false;
      // Out of frames for the copy (a page of a shared list is shared even at one reference) or
      // for a private copy of the list: refuse before installing anything.
      const copy = breaks && (refs.count(peek.frame) > 1 || peek.lists > 0) ? 1 : 0;
      if ((copy > 0 || peek.lists > 0) && phys.freeFrames < peek.lists + copy + TABLE_SLACK) throw new IpcError('OutOfMemory', 'no free frame for a copy-on-write copy');
      const inst = pending(space, page, true);
      if (inst === undefined) return false;
      if (!breaks) return true;
      m = { va: at - pageOffset(at), pa: PhysicalMemory.addressOf(inst.frame), size: FRAME_SIZE, perms: inst.perms, markers: inst.markers };
    }
    if (m === undefined || m.size !== FRAME_SIZE) return false;
    const frame = PhysicalMemory.frameOf(m.pa);
    const cowWrite = fault.access === AccessKind.Write && (m.markers & PageMarker.COPY_ON_WRITE) !== 0;
    if (fault.reason === 'not-present') {
      // Just installed from a pending range, and the access is a write to a COW page: break it now.
    } else if (fault.reason === 'lazy' && (m.markers & PageMarker.LAZY) !== 0) {
      if (parked(m.va) || refs.count(frame) === 0) return false;
      // A first access that is a write to a COW page installs and breaks it in one repair.
      if (!cowWrite) {
        space.protect(m.va, FRAME_SIZE, m.perms, m.markers & ~PageMarker.LAZY);
        return true;
      }
    } else if (fault.reason !== 'permission' || !cowWrite) return false;
    if (refs.count(frame) === 0) return false;
    const perms = m.perms | PagePerm.WRITE;
    if (refs.count(frame) === 1) {
      space.protect(m.va, FRAME_SIZE, perms, 0);
      return true;
    }
    if (phys.freeFrames < 1 + TABLE_SLACK) throw new IpcError('OutOfMemory', 'no free frame for a copy-on-write copy');
    const copy = phys.allocFrame();
    phys.bytes.copyWithin(phys.frameOffset(copy), phys.frameOffset(frame), phys.frameOffset(frame) + FRAME_SIZE);
    frameOps.unmapFrames(space, m.va, 1, scratch);
    one[0] = copy;
    frameOps.mapFrames(space, m.va, one, 0, 1, perms, 0);
    refs.own(copy);
    refs.release(frame);
    return true;
  };
}
