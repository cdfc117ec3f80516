import type { DiagnosticBag } from './diagnostics.js';
import type { LibraryModel, StructModel, Type, TypeDeclaration, UnionModel } from './model.js';

type Composite = StructModel | UnionModel;

/**
 * The declarations a value of `type` must contain: named structs and unions reached without
 * passing through an optional (which may be absent) or a vector (which may be empty).
 */
function requiredDeclarations(type: Type, out: Array<Composite>): void {
  switch (type.kind) {
    case 'named':
      if (type.decl.kind === 'struct' || type.decl.kind === 'union') out.push(type.decl);
      return;
    case 'array':
      requiredDeclarations(type.element, out);
      return;
    default:
      return;
  }
}

function edges(decl: Composite): Array<{ to: Composite; via: string }> {
  const out: Array<{ to: Composite; via: string }> = [];
  const members = decl.kind === 'struct' ? decl.fields : decl.members;
  for (const member of members) {
    const reached: Composite[] = [];
    requiredDeclarations(member.type, reached);
    for (const to of reached) out.push({ to, via: `${decl.name}.${member.name}` });
  }
  return out;
}

/** Steps of a long route shown before and after the elided middle. */
const ROUTE_HEAD = 3;
const ROUTE_TAIL = 3;

/**
 * The route of a cycle of `length` steps (`step(i)` is its i-th member, e.g. `A.b`) back to
 * `name`. A long cycle shows its first and last few steps around `… N more …`, so a report is
 * short and its cost does not grow with the cycle.
 */
export function cycleRoute(length: number, step: (i: number) => string, name: string): string {
  const steps: string[] = [];
  if (length <= ROUTE_HEAD + ROUTE_TAIL + 1) for (let i = 0; i < length; i++) steps.push(step(i));
  else {
    for (let i = 0; i < ROUTE_HEAD; i++) steps.push(step(i));
    steps.push(`… ${length - ROUTE_HEAD - ROUTE_TAIL} more …`);
    for (let i = length - ROUTE_TAIL; i < length; i++) steps.push(step(i));
  }
  return [...steps, name].join(' → ');
}

/**
 * Reports each cycle of structs and unions that contain each other with no optional or
 * vector in between (VIDL0201): such a value would be infinitely large. Each cycle is
 * reported once, at the declaration where the search entered it.
 */
export function checkIncludeCycles(libraries: readonly LibraryModel[], diagnostics: DiagnosticBag): void {
  const state = new Map<TypeDeclaration, 'active' | 'done'>();
  // A cycle is the stack from the declaration an edge returns to up to the one it leaves: that
  // pair names it (each declaration is entered once), so it is recognised without listing it.
  const reported = new Map<Composite, Set<Composite>>();
  /** The position of each active declaration on the stack. */
  const depth = new Map<Composite, number>();

  // An explicit stack rather than recursion: a chain of thousands of structs is fine input.
  // `via` is the member the frame followed to the frame above it (or, on top, the edge at hand).
  const frames: Array<{ decl: Composite; edges: Array<{ to: Composite; via: string }>; next: number; via: string }> = [];
  const enter = (decl: Composite) => {
    state.set(decl, 'active');
    depth.set(decl, frames.length);
    frames.push({ decl, edges: edges(decl), next: 0, via: '' });
  };
  const visit = (root: Composite): void => {
    enter(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const { decl } = frame;
      const edge = frame.edges[frame.next++];
      if (!edge) {
        state.set(decl, 'done');
        depth.delete(decl);
        frames.pop();
        continue;
      }
      frame.via = edge.via;
      const s = state.get(edge.to);
      if (s === 'active') {
        let returns = reported.get(edge.to);
        if (!returns) reported.set(edge.to, (returns = new Set()));
        if (!returns.has(decl)) {
          returns.add(decl);
          const start = depth.get(edge.to)!;
          const route = cycleRoute(frames.length - start, (i) => frames[start + i]!.via, edge.to.name);
          diagnostics.report('VIDL0201', edge.to.span, { kind: edge.to.kind, name: edge.to.name, route });
        }
        continue;
      }
      if (s === 'done') continue;
      enter(edge.to);
    }
  };

  for (const library of libraries) {
    for (const decl of library.declarations) {
      if ((decl.kind === 'struct' || decl.kind === 'union') && !state.has(decl)) visit(decl);
    }
  }
}
