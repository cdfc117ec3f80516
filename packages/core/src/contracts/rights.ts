/**
 * Capability rights (a bit set). The table below is the contract:
 *
 * | right | bit | allows |
 * | --- | --- | --- |
 * | `SEND` | 0x01 | call or send on a channel; publish on a topic |
 * | `RECEIVE` | 0x02 | receive and reply on an endpoint; consume from a ring or subscription |
 * | `SHARE` | 0x04 | pass this capability to another process inside a message |
 * | `GRANT` | 0x08 | mint a derived capability (rights ⊆ own) for another process |
 * | `READ` | 0x10 | read a memory region |
 * | `WRITE` | 0x20 | write a memory region |
 * | `MAP` | 0x40 | map a memory region into an address space |
 * | `REVOKE` | 0x80 | revoke every capability to the object (bump its generation) |
 *
 * Derivation never adds a right: a derived capability's rights are a subset of its parent's.
 */
export const Rights = {
  NONE: 0,
  SEND: 0x01,
  RECEIVE: 0x02,
  SHARE: 0x04,
  GRANT: 0x08,
  READ: 0x10,
  WRITE: 0x20,
  MAP: 0x40,
  REVOKE: 0x80,
  /** Every right. */
  ALL: 0xff,
} as const;

/** A set of {@link Rights} bits. */
export type RightsMask = number;

/** True when `rights` holds every bit of `needed`. */
export function hasRights(rights: RightsMask, needed: RightsMask): boolean {
  return (rights & needed) === needed;
}

/** True when `child` has no right that `parent` lacks. */
export function isSubsetOf(child: RightsMask, parent: RightsMask): boolean {
  return (child & ~parent) === 0;
}

/** Human-readable rights, e.g. `SEND|SHARE`. */
export function formatRights(rights: RightsMask): string {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(Rights)) {
    if (name === 'NONE' || name === 'ALL') continue;
    if (rights & bit) names.push(name);
  }
  return names.length ? names.join('|') : 'NONE';
}
