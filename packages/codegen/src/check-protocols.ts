import type { DiagnosticBag } from './diagnostics.js';
import type { MethodModel, ProtocolModel, Type } from './model.js';

/** Request message types from here up belong to the stub framework (see the wire runtime). */
export const RESERVED_MESSAGE_TYPE_MIN = 0xffff_ff00;

const hex = (n: bigint | number, digits: number) => `0x${n.toString(16).padStart(digits, '0')}`;

/** True when a value of `type` can hold a capability (a worklist, not recursion: chains of declarations may be long). */
export function carriesCapability(type: Type): boolean {
  const seen = new Set<object>();
  const work: Type[] = [type];
  for (let t = work.pop(); t !== undefined; t = work.pop()) {
    switch (t.kind) {
      case 'capability':
        return true;
      case 'vector':
      case 'array':
        work.push(t.element);
        break;
      case 'optional':
        work.push(t.inner);
        break;
      case 'named': {
        const decl = t.decl;
        if (seen.has(decl)) break;
        seen.add(decl);
        if (decl.kind === 'struct') work.push(...decl.fields.map((f) => f.type));
        else if (decl.kind === 'union') work.push(...decl.members.map((m) => m.type));
        break;
      }
      default:
        break;
    }
  }
  return false;
}

/**
 * Checks a protocol's ordinals: no two methods share an ordinal (VIDL0401) or the ordinal's
 * low 32 bits, which is the message type on the wire (VIDL0402); no ordinal is zero or has a
 * message type in the framework's reserved range (VIDL0403). Also rejects events that carry
 * capabilities (VIDL0405): an event fans out to every subscriber, a capability cannot.
 */
export function checkProtocol(protocol: ProtocolModel, diagnostics: DiagnosticBag): void {
  const byOrdinal = new Map<bigint, MethodModel>();
  const byType = new Map<number, MethodModel>();
  for (const method of protocol.methods) {
    const first = byOrdinal.get(method.ordinal);
    if (first) {
      diagnostics.report(
        'VIDL0401',
        method.span,
        { method: method.name, ordinal: hex(method.ordinal, 16), other: first.name, selector: JSON.stringify(method.selector), otherSelector: JSON.stringify(first.selector) },
        [{ message: `${first.name} declared here`, span: first.span }],
      );
    } else {
      byOrdinal.set(method.ordinal, method);
      const sameType = byType.get(method.messageType);
      if (sameType) {
        diagnostics.report(
          'VIDL0402',
          method.span,
          { method: method.name, other: sameType.name, type: hex(method.messageType, 8) },
          [{ message: `${sameType.name} declared here`, span: sameType.span }],
        );
      } else byType.set(method.messageType, method);
    }
    if (method.ordinal === 0n || method.messageType >= RESERVED_MESSAGE_TYPE_MIN) {
      diagnostics.report(
        'VIDL0403',
        method.span,
        { method: method.name, ordinal: hex(method.ordinal, 16), type: hex(method.messageType, 8), reserved: hex(RESERVED_MESSAGE_TYPE_MIN, 8) },
      );
    }
    if (method.kind === 'event') {
      for (const parameter of method.request) {
        if (carriesCapability(parameter.type)) {
          diagnostics.report('VIDL0405', parameter.span, { event: method.name, parameter: parameter.name });
        }
      }
    }
  }
}
