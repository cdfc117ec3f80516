/** Structures for the type declarations of a library: consts, enums, bits, structs and unions. */
import { StructureKind, VariableDeclarationKind, type CodeBlockWriter, type StatementStructures, type WriterFunction } from 'ts-morph';
import { type BitsModel, type ConstModel, type EnumModel, type StructModel, type UnionModel } from '../model.js';
import type { ModuleContext } from './context.js';
import { decoderName, encoderName } from './names.js';
import { decodeExpression, docText, encodeExpression, propertySignature, tsType } from './type-code.js';

/** A bigint or number literal of an integer type (u64/i64 values are bigints). */
export function integerLiteral(value: bigint, wide: boolean, hex = false): string {
  const text = hex && value >= 0n ? `0x${value.toString(16)}` : value.toString();
  return wide ? `${text}n` : text;
}

const isWide = (name: string) => name === 'u64' || name === 'i64';

/** `export const NAME = value;` */
export function emitConst(decl: ConstModel, ctx: ModuleContext): StatementStructures[] {
  const value = decl.value;
  let initializer: string;
  let type: string | undefined;
  if (typeof value === 'bigint') {
    const underlying = decl.type.kind === 'primitive' ? decl.type.name : decl.type.kind === 'named' && (decl.type.decl.kind === 'enum' || decl.type.decl.kind === 'bits') ? decl.type.decl.underlying : 'u32';
    initializer = integerLiteral(value, isWide(underlying));
    if (decl.type.kind === 'named') type = tsType(decl.type, ctx);
  } else if (typeof value === 'number') initializer = Object.is(value, -0) ? '-0' : String(value);
  else if (typeof value === 'string') initializer = `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n').replaceAll('\r', '\\r').replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029')}'`;
  else initializer = String(value);
  return [
    {
      kind: StructureKind.VariableStatement,
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: optionalDocs(docText(decl.docs)),
      declarations: [{ name: decl.name, type, initializer }],
    },
  ];
}

/** The value object and type of an enum or bits, with encode and decode functions. */
export function emitEnumOrBits(decl: EnumModel | BitsModel, ctx: ModuleContext): Array<StatementStructures | WriterFunction> {
  const wide = isWide(decl.underlying);
  const members = (w: CodeBlockWriter) => {
    for (const member of decl.members) {
      const doc = docText(member.docs);
      if (doc) writeJsDoc(w, doc);
      w.writeLine(`${member.name}: ${integerLiteral(member.value, wide, decl.kind === 'bits')},`);
    }
  };
  const typeName = decl.name;
  const isEnum = decl.kind === 'enum';
  const mask = decl.kind === 'bits' ? integerLiteral(decl.mask, wide, true) : '';
  const outOfMask = decl.kind === 'bits' ? (wide ? `($v & ~${mask}) !== 0n` : `($v & ~${mask}) !== 0`) : '';
  const cases = (w: CodeBlockWriter) => {
    for (const member of decl.members) w.writeLine(`case ${integerLiteral(member.value, wide)}:`);
  };
  return [
    constObject(decl.name, docText(decl.docs, isEnum ? `Members of enum ${decl.name} (${decl.underlying} on the wire).` : `Bits of ${decl.name} (${decl.underlying} on the wire).`), members),
    {
      kind: StructureKind.TypeAlias,
      isExported: true,
      name: decl.name,
      docs: optionalDocs(isEnum ? `A member of enum ${decl.name}.` : `A set of ${decl.name} bits (any combination of its members).`),
      type: isEnum ? `(typeof ${decl.name})[keyof typeof ${decl.name}]` : wide ? 'bigint' : 'number',
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      name: encoderName(typeName),
      docs: [`Writes ${article(decl.name)}; throws \`InvalidArgument\` for ${isEnum ? 'a value that is not a member' : 'bits it does not define'}.`],
      parameters: [
        { name: '$w', type: ctx.runtimeType('WireWriter') },
        { name: '$v', type: typeName },
      ],
      returnType: 'void',
      statements: (w) => {
        if (isEnum) {
          w.write('switch ($v)').block(() => {
            cases(w);
            w.indent(() => {
              w.writeLine(`$w.${decl.underlying}($v);`);
              w.writeLine('return;');
            });
            w.writeLine('default:');
            w.indent(() => w.writeLine(`throw $w.invalid('${decl.name}', $v);`));
          });
        } else {
          w.writeLine(`if (${outOfMask}) throw $w.invalid('${decl.name}', $v);`);
          w.writeLine(`$w.${decl.underlying}($v);`);
        }
      },
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      name: decoderName(typeName),
      docs: [`Reads ${article(decl.name)}; rejects ${isEnum ? 'unknown values' : 'undefined bits'}.`],
      parameters: [{ name: '$r', type: ctx.runtimeType('WireReader') }],
      returnType: typeName,
      statements: (w) => {
        w.writeLine(`const $v = $r.${decl.underlying}();`);
        if (isEnum) {
          w.write('switch ($v)').block(() => {
            cases(w);
            w.indent(() => w.writeLine('return $v;'));
            w.writeLine('default:');
            w.indent(() => w.writeLine(`throw $r.invalid('${decl.name}', $v);`));
          });
        } else {
          w.writeLine(`if (${outOfMask}) throw $r.invalid('${decl.name}', $v);`);
          w.writeLine('return $v;');
        }
      },
    },
  ];
}

/** Interface, encode and decode of a struct. */
export function emitStruct(decl: StructModel, ctx: ModuleContext): StatementStructures[] {
  const align = ctx.alignments.declaration(decl);
  const empty = decl.fields.length === 0;
  const declaration: StatementStructures = empty
    ? { kind: StructureKind.TypeAlias, isExported: true, name: decl.name, docs: optionalDocs(docText(decl.docs)), type: 'Record<string, never>' }
    : {
        kind: StructureKind.Interface,
        isExported: true,
        name: decl.name,
        docs: optionalDocs(docText(decl.docs)),
        properties: decl.fields.map((f) => ({ ...propertySignature(f.name, f.type, ctx), docs: optionalDocs(docText(f.docs)) })),
      };
  return [
    declaration,
    {
      kind: StructureKind.Function,
      isExported: true,
      name: encoderName(decl.name),
      docs: [`Writes ${article(decl.name)} (aligned to ${align}).`],
      parameters: [
        { name: '$w', type: ctx.runtimeType('WireWriter') },
        { name: empty ? '_$v' : '$v', type: decl.name },
      ],
      returnType: 'void',
      statements: (w) => {
        w.writeLine(`$w.enter(${align});`);
        if (empty) w.writeLine('$w.empty();');
        for (const field of decl.fields) w.writeLine(`${encodeExpression(field.type, `$v.${field.name}`, ctx)};`);
        w.writeLine('$w.leave();');
      },
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      name: decoderName(decl.name),
      docs: [`Reads ${article(decl.name)}.`],
      parameters: [{ name: '$r', type: ctx.runtimeType('WireReader') }],
      returnType: decl.name,
      statements: (w) => {
        w.writeLine(`$r.enter(${align});`);
        if (empty) {
          w.writeLine('$r.empty();');
          w.writeLine('$r.leave();');
          w.writeLine('return {};');
          return;
        }
        writeObjectDecode(w, decl.name, decl.fields, ctx);
        w.writeLine('$r.leave();');
        w.writeLine('return $v;');
      },
    },
  ];
}

/** `const $v: T = { field: decode, … };` — properties evaluate in order, which is wire order. */
export function writeObjectDecode(w: CodeBlockWriter, typeName: string, fields: readonly { name: string; type: Parameters<typeof decodeExpression>[0] }[], ctx: ModuleContext): void {
  w.write(`const $v: ${typeName} = `).inlineBlock(() => {
    for (const field of fields) w.writeLine(`${field.name}: ${decodeExpression(field.type, ctx)},`);
  });
  w.write(';').newLine();
}

/** Discriminated-union type, encode and decode of a union. */
export function emitUnion(decl: UnionModel, ctx: ModuleContext): StatementStructures[] {
  const align = ctx.alignments.declaration(decl);
  const memberDocs = decl.members.filter((m) => m.docs.length > 0).map((m) => `- \`${m.name}\` (tag ${m.tag}): ${m.docs.join(' ')}`);
  return [
    {
      kind: StructureKind.TypeAlias,
      isExported: true,
      name: decl.name,
      docs: optionalDocs(docText(decl.docs, ...memberDocs)),
      type: (w) => {
        for (const member of decl.members) {
          w.newLine().write(`| { tag: '${member.name}'; value: ${tsType(member.type, ctx)} }`);
        }
      },
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      name: encoderName(decl.name),
      docs: [`Writes ${article(decl.name)}: its u32 tag, then the member's value.`],
      parameters: [
        { name: '$w', type: ctx.runtimeType('WireWriter') },
        { name: '$v', type: decl.name },
      ],
      returnType: 'void',
      statements: (w) => {
        w.writeLine(`$w.enter(${align});`);
        w.write('switch ($v.tag)').block(() => {
          for (const member of decl.members) {
            w.writeLine(`case '${member.name}':`);
            w.indent(() => {
              w.writeLine(`$w.u32(${member.tag});`);
              w.writeLine(`${encodeExpression(member.type, '$v.value', ctx)};`);
              w.writeLine('break;');
            });
          }
          w.writeLine('default:');
          w.indent(() => w.writeLine(`throw $w.invalid('${decl.name}', $v);`));
        });
        w.writeLine('$w.leave();');
      },
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      name: decoderName(decl.name),
      docs: [`Reads ${article(decl.name)}; rejects unknown tags.`],
      parameters: [{ name: '$r', type: ctx.runtimeType('WireReader') }],
      returnType: decl.name,
      statements: (w) => {
        w.writeLine(`$r.enter(${align});`);
        w.writeLine('const $tag = $r.u32();');
        w.writeLine(`let $v: ${decl.name};`);
        w.write('switch ($tag)').block(() => {
          for (const member of decl.members) {
            w.writeLine(`case ${member.tag}:`);
            w.indent(() => {
              w.writeLine(`$v = { tag: '${member.name}', value: ${decodeExpression(member.type, ctx)} };`);
              w.writeLine('break;');
            });
          }
          w.writeLine('default:');
          w.indent(() => w.writeLine(`throw $r.invalid('${decl.name} tag', $tag);`));
        });
        w.writeLine('$r.leave();');
        w.writeLine('return $v;');
      },
    },
  ];
}

/**
 * `export const NAME = { … } as const;` written directly: as a variable initializer the
 * printer would indent the object's lines as a continuation.
 */
export function constObject(name: string, docs: string | undefined, body: (w: CodeBlockWriter) => void): WriterFunction {
  return (w) => {
    if (docs) writeJsDoc(w, docs);
    w.write(`export const ${name} = `).inlineBlock(() => body(w));
    w.write(' as const;');
  };
}

/** "a Stat", "an Entry". */
export function article(name: string): string {
  return /^[AEIOUaeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

/** Writes a JSDoc block with the writer. */
export function writeJsDoc(w: CodeBlockWriter, text: string): void {
  const lines = text.split('\n');
  if (lines.length === 1) w.writeLine(`/** ${lines[0]} */`);
  else {
    w.writeLine('/**');
    for (const line of lines) w.writeLine(line.length > 0 ? ` * ${line}` : ' *');
    w.writeLine(' */');
  }
}

/** A `docs` array for a structure: empty when there is no text. */
export function optionalDocs(text: string | undefined): string[] {
  return text === undefined ? [] : [text];
}
