/**
 * The x86_64 general-purpose registers in register-frame order: frame index = position in
 * this list. (The order is the ABI of the frame, fixed by the VeridianOS x86_64 port; it is
 * not the ModR/M encoding order.)
 */
export const X86_64_REGISTER_NAMES = [
  'rax',
  'rbx',
  'rcx',
  'rdx',
  'rsi',
  'rdi',
  'rbp',
  'rsp',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
] as const;

/** Name of one x86_64 general-purpose register. */
export type X86_64RegisterName = (typeof X86_64_REGISTER_NAMES)[number];

/** Frame index of each register by name (e.g. `Reg.rdi === 5`). */
export const Reg = {
  rax: 0,
  rbx: 1,
  rcx: 2,
  rdx: 3,
  rsi: 4,
  rdi: 5,
  rbp: 6,
  rsp: 7,
  r8: 8,
  r9: 9,
  r10: 10,
  r11: 11,
  r12: 12,
  r13: 13,
  r14: 14,
  r15: 15,
} as const satisfies Record<X86_64RegisterName, number>;

/** Number of 64-bit registers in an x86_64 frame. */
export const X86_64_REGISTER_COUNT = 16;

/**
 * What each register carries on the IPC fast path (the documented register table).
 * RCX and R11 never carry payload because `SYSCALL` overwrites them with the return RIP
 * and RFLAGS; RSP is the caller's stack pointer.
 */
export const X86_64_REGISTER_ROLES: Readonly<Record<X86_64RegisterName, string>> = Object.freeze({
  rax: 'syscall number on entry (bits 0-31); status on return',
  rbx: 'data bytes 48-55',
  rcx: 'unused: SYSCALL writes the return RIP here',
  rdx: 'capability 0 (bits 0-31), capability 1 (bits 32-63)',
  rsi: 'message info (bits 0-31: length, cap count, flags), message type (bits 32-63)',
  rdi: 'endpoint handle (bits 0-31); sender pid written by the kernel on delivery (bits 32-63)',
  rbp: 'data bytes 56-63',
  rsp: 'unused: the caller\'s stack pointer',
  r8: 'data bytes 0-7',
  r9: 'data bytes 8-15',
  r10: 'capability 2 (bits 0-31), capability 3 (bits 32-63); replaces RCX as in the Linux syscall ABI',
  r11: 'unused: SYSCALL writes the caller\'s RFLAGS here',
  r12: 'data bytes 16-23',
  r13: 'data bytes 24-31',
  r14: 'data bytes 32-39',
  r15: 'data bytes 40-47',
});

/**
 * Registers the small-message fast path uses, by role (the same names in every arch package).
 */
export const FastPathReg = Object.freeze({
  /** RAX: syscall number on entry, status on return. */
  SYSCALL: Reg.rax,
  /** RDI: endpoint handle (bits 0–31); sender pid written by the kernel on delivery (bits 32–63). */
  ENDPOINT: Reg.rdi,
  /** RSI: message-info word (bits 0–31) and message type (bits 32–63). */
  INFO: Reg.rsi,
  /** RDX: capability 0 (bits 0–31) and 1 (bits 32–63). */
  CAPS01: Reg.rdx,
  /** R10: capability 2 (bits 0–31) and 3 (bits 32–63). */
  CAPS23: Reg.r10,
});

/** One row of {@link X86_64_REGISTER_TABLE}. */
export interface RegisterRole {
  /** Frame index. */
  readonly reg: number;
  /** Lowercase register name, e.g. `rax`. */
  readonly name: string;
  /** What the register carries in a fast-path syscall, or why it is left alone. */
  readonly role: string;
}

/** The fast-path register table in frame order: every register with its role (as {@link X86_64_REGISTER_ROLES}). */
export const X86_64_REGISTER_TABLE: readonly RegisterRole[] = Object.freeze(
  X86_64_REGISTER_NAMES.map((name, reg) => Object.freeze({ reg, name, role: X86_64_REGISTER_ROLES[name] })),
);
