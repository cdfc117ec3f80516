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

/**
 * Reports each cycle of structs and unions that contain each other with no optional or
 * vector in between (VIDL0201): such a value would be infinitely large. Each cycle is
 * reported once, at the declaration where the search entered it.
 */
export function checkIncludeCycles(libraries: readonly LibraryModel[], diagnostics: DiagnosticBag): void {
  const state = new Map<TypeDeclaration, 'active' | 'done'>();
  const reported = new Set<string>();
  const path: Array<{ decl: Composite; via: string }> = [];

  // An explicit stack rather than recursion: a chain of thousands of structs is fine input.
  const frames: Array<{ decl: Composite; edges: Array<{ to: Composite; via: string }>; next: number }> = [];
  const enter = (decl: Composite) => {
    state.set(decl, 'active');
    frames.push({ decl, edges: edges(decl), next: 0 });
  };
  const visit = (root: Composite): void => {
    enter(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const { decl } = frame;
      const edge = frame.edges[frame.next++];
      if (!edge) {
        state.set(decl, 'done');
        frames.pop();
        if (frames.length > 0) path.pop();
        continue;
      }
      const s = state.get(edge.to);
      if (s === 'active') {
        const start = path.findIndex((p) => p.decl === edge.to);
        const cycle = [...path.slice(start === -1 ? path.length : start), { decl, via: edge.via }];
        const key = cycle
          .map((c) => `${c.decl.library}/${c.decl.name}`)
          .sort()
          .join(',');
        if (!reported.has(key)) {
          reported.add(key);
          const route = [...cycle.map((c) => c.via), edge.to.name].join(' → ');
          diagnostics.report('VIDL0201', edge.to.span, { kind: edge.to.kind, name: edge.to.name, route });
        }
        continue;
      }
      if (s === 'done') continue;
      path.push({ decl, via: edge.via });
      enter(edge.to);
    }
  };

  for (const library of libraries) {
    for (const decl of library.declarations) {
      if ((decl.kind === 'struct' || decl.kind === 'union') && !state.has(decl)) visit(decl);
    }
  }
}
