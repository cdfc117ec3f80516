import { describe, expect, it } from 'vitest';
import { defaultSelector, messageTypeOf, methodOrdinal, resolveSelector } from '../src/ordinal.ts';

describe('method ordinals (FIDL RFC-0029 rule)', () => {
  // Reference values from Fuchsia's FIDL client conformance suite
  // (src/tests/fidl/client_suite/harness/ordinals.h), computed by fidlc.
  it.each([
    ['fidl.clientsuite/ClosedTarget.TwoWayNoPayload', 8823160117673072416n],
    ['fidl.clientsuite/ClosedTarget.TwoWayStructPayload', 4197391242806919613n],
    ['fidl.clientsuite/OpenTarget.StrictOneWay', 7904024199254697828n],
    ['fidl.clientsuite/OpenTarget.FlexibleTwoWay', 7373850992214410631n],
  ])('%s → %s', (selector, ordinal) => {
    expect(methodOrdinal(selector)).toBe(ordinal);
  });

  it('never sets the top bit', () => {
    for (let i = 0; i < 500; i++) expect(methodOrdinal(`x/P.m${i}`) >> 63n).toBe(0n);
  });

  it('puts the low 32 bits on the wire as the message type', () => {
    expect(messageTypeOf(0x1234_5678_9abc_def0n)).toBe(0x9abcdef0);
  });

  it('builds and overrides selectors', () => {
    expect(defaultSelector('demo.fs', 'File', 'read')).toBe('demo.fs/File.read');
    expect(resolveSelector('legacy', 'demo.fs', 'File')).toBe('demo.fs/File.legacy');
    expect(resolveSelector('demo.fs/File.legacy_sync', 'x', 'Y')).toBe('demo.fs/File.legacy_sync');
    expect(resolveSelector('a b', 'x', 'Y')).toBeUndefined();
    expect(resolveSelector('lib/Proto', 'x', 'Y')).toBeUndefined();
  });
});
