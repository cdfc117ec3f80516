/**
 * Structures for a protocol: the descriptor, message bodies, the application error class,
 * the client class, the server interface, the server handle and the `serveX` function.
 */
import { StructureKind, type CodeBlockWriter, type StatementStructures, type WriterFunction } from 'ts-morph';
import { bodyAlignment } from '../layout.js';
import { qualifiedName, type FieldModel, type MethodModel, type ProtocolModel } from '../model.js';
import type { ModuleContext } from './context.js';
import { article, constObject, optionalDocs, writeObjectDecode } from './declarations.js';
import { decoderName, encoderName, eventSubscriberName, messageBodyNames, protocolNames } from './names.js';
import { decodeExpression, docText, encodeExpression, propertySignature, tsType } from './type-code.js';

/** An interface member name: `new(…)` in an interface would declare a construct signature, so it is quoted. */
const memberName = (name: string) => (name === 'new' ? `'new'` : name);

const camel = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);
const args = (fields: readonly FieldModel[]) => fields.map((f) => f.name).join(', ');

/** An `@example` of the client: connect, call the first two-way (else one-way) method, listen to the first event. */
function clientExample(protocol: ProtocolModel): string {
  const names = protocolNames(protocol);
  const client = camel(protocol.name);
  const lines = ['', '```ts', "// inside a process: kernel.spawn({ name: 'client' }, async (proc) => { … })", `const ${client} = new ${names.client}(proc, proc.connect('${camel(protocol.name)}'));`];
  const call = protocol.methods.find((m) => m.kind === 'twoWay') ?? protocol.methods.find((m) => m.kind === 'oneway');
  if (call) {
    const fields = call.response ?? [];
    const target = fields.length > 0 ? `const { ${args(fields)} } = ` : '';
    lines.push(`${target}await ${client}.${call.name}(${args(call.request)});`);
    if (call.error) lines.push(`// rejects with ${names.error!} when the server returns an error`);
  }
  const event = protocol.methods.find((m) => m.kind === 'event');
  if (event) lines.push(`const unsubscribe = ${client}.${eventSubscriberName(event.name)}((${args(event.request)}) => console.log(${args(event.request)}));`);
  lines.push('```');
  return lines.join('\n');
}

/** An `@example` of the server: serve an endpoint with an implementation, emit the first event, wait until closed. */
function serverExample(protocol: ProtocolModel): string {
  const names = protocolNames(protocol);
  const lines = ['', '```ts', `// inside the serving process: kernel.spawn({ name: '${camel(protocol.name)}' }, async (proc) => { … })`, `const handle = ${names.serve}(proc, proc.createEndpoint({ name: '${camel(protocol.name)}' }), {`];
  const method = protocol.methods.find((m) => m.kind !== 'event');
  if (method) {
    const fields = method.response ?? [];
    if (fields.length > 0) lines.push(`  ${method.name}(${args(method.request)}) {`, `    return { ${args(fields)} };`, '  },');
    else lines.push(`  ${method.name}(${args(method.request)}) {},`);
    if (method.error) lines.push(`  // throw new ${names.error!}(…) to return an error`);
  }
  lines.push(`  // … one method per ${names.server} method`, '});');
  const event = protocol.methods.find((m) => m.kind === 'event');
  if (event) lines.push(`handle.${event.name}(${args(event.request)}); // to every subscribed client`);
  lines.push('await handle.closed;', '```');
  return lines.join('\n');
}

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const hex64 = (n: bigint) => `0x${n.toString(16).padStart(16, '0')}n`;

/** Every structure of one protocol, in emission order. */
export function emitProtocol(protocol: ProtocolModel, ctx: ModuleContext): Array<StatementStructures | WriterFunction> {
  const names = protocolNames(protocol);
  const out: Array<StatementStructures | WriterFunction> = [descriptor(protocol, names.descriptor)];
  for (const method of protocol.methods) {
    const bodies = messageBodyNames(protocol, method);
    const what = method.kind === 'event' ? `Payload of event ${protocol.name}.${method.name}.` : `Request of ${protocol.name}.${method.name}.`;
    out.push(...messageBody(bodies.request, method.request, what, ctx));
    if (bodies.response && method.response) out.push(...messageBody(bodies.response, method.response, `Response of ${protocol.name}.${method.name}.`, ctx));
  }
  if (names.error) out.push(errorClass(protocol, names.error, ctx));
  out.push(clientClass(protocol, ctx), serverInterface(protocol, ctx), handleInterface(protocol, ctx), serveFunction(protocol, ctx));
  return out;
}

function descriptor(protocol: ProtocolModel, name: string): WriterFunction {
  return constObject(name, `Name, method ordinals and message types (the ordinals' low 32 bits) of protocol ${protocol.name}.`, (w) => {
    w.writeLine(`name: '${qualifiedName(protocol)}',`);
    w.write('methods: ').inlineBlock(() => {
      for (const m of protocol.methods) w.writeLine(`${m.name}: { ordinal: ${hex64(m.ordinal)}, type: ${hex32(m.messageType)}, kind: '${m.kind}' },`);
    });
    w.write(',').newLine();
  });
}

function messageBody(name: string, fields: readonly FieldModel[], what: string, ctx: ModuleContext): StatementStructures[] {
  const align = bodyAlignment(fields, ctx.alignments);
  const empty = fields.length === 0;
  return [
    empty
      ? { kind: StructureKind.TypeAlias, isExported: true, name, docs: [`${what} (no fields)`], type: 'Record<string, never>' }
      : {
          kind: StructureKind.Interface,
          isExported: true,
          name,
          docs: [what],
          properties: fields.map((f) => ({ ...propertySignature(f.name, f.type, ctx), docs: optionalDocs(docText(f.docs)) })),
        },
    {
      kind: StructureKind.Function,
      isExported: true,
      name: encoderName(name),
      docs: [empty ? `Writes ${article(name)}: nothing (an empty body is zero bytes).` : `Writes ${article(name)} as the payload of a message.`],
      parameters: [
        { name: empty ? '_$w' : '$w', type: ctx.runtimeType('WireWriter') },
        { name: empty ? '_$v' : '$v', type: name },
      ],
      returnType: 'void',
      statements: (w) => {
        if (empty) return;
        w.writeLine(`$w.enter(${align});`);
        for (const field of fields) w.writeLine(`${encodeExpression(field.type, `$v.${field.name}`, ctx)};`);
        w.writeLine('$w.leave();');
      },
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      name: decoderName(name),
      docs: [`Reads ${article(name)} from a message payload.`],
      parameters: [{ name: empty ? '_$r' : '$r', type: ctx.runtimeType('WireReader') }],
      returnType: name,
      statements: (w) => {
        if (empty) {
          w.writeLine('return {};');
          return;
        }
        w.writeLine(`$r.enter(${align});`);
        writeObjectDecode(w, name, fields, ctx);
        w.writeLine('$r.leave();');
        w.writeLine('return $v;');
      },
    },
  ];
}

function errorTypes(protocol: ProtocolModel, ctx: ModuleContext): string {
  const types = new Set<string>();
  for (const m of protocol.methods) if (m.error) types.add(tsType(m.error, ctx));
  return [...types].join(' | ');
}

function errorClass(protocol: ProtocolModel, name: string, ctx: ModuleContext): StatementStructures {
  return {
    kind: StructureKind.Class,
    isExported: true,
    name,
    extends: `${ctx.runtimeValue('ApplicationError')}<${errorTypes(protocol, ctx)}>`,
    docs: [
      `The \`error\` of a ${protocol.name} method: a client's promise rejects with it, \`value\` holding what the server returned; a server handler throws it to return that value.`,
    ],
  };
}

/** Positional parameters of a generated method (optional types become `T | undefined`). */
function parameters(fields: readonly FieldModel[], ctx: ModuleContext): Array<{ name: string; type: string }> {
  return fields.map((f) => ({ name: f.name, type: tsType(f.type, ctx) }));
}

function paramDocs(method: MethodModel, ...extra: string[]): string[] {
  const tags = method.request.filter((f) => f.docs.length > 0).map((f) => `@param ${f.name} - ${f.docs.join(' ')}`);
  const text = docText(method.docs, ...extra, ...tags);
  return optionalDocs(text);
}

function objectOf(fields: readonly FieldModel[]): string {
  return fields.length === 0 ? '{}' : `{ ${fields.map((f) => f.name).join(', ')} }`;
}

function clientClass(protocol: ProtocolModel, ctx: ModuleContext): StatementStructures {
  const clientChannel = ctx.runtimeValue('ClientChannel');
  const names = protocolNames(protocol);
  const fullName = qualifiedName(protocol);
  const methods = protocol.methods.map((method) => {
    const bodies = messageBodyNames(protocol, method);
    if (method.kind === 'event') {
      const handlerType = `(${parameters(method.request, ctx)
        .map((p) => `${p.name}: ${p.type}`)
        .join(', ')}) => void`;
      return {
        name: eventSubscriberName(method.name),
        docs: optionalDocs(
          docText(
            method.docs,
            `Calls \`handler\` for each ${method.name} event. Events are delivered after a call on this client whose reply says some are queued, or by the returned function's \`next()\`.`,
            '@returns A function that unsubscribes; its `ready` settles once the server accepted the subscription.',
          ),
        ),
        parameters: [{ name: 'handler', type: handlerType }],
        returnType: ctx.runtimeType('Unsubscribe'),
        statements: (w: CodeBlockWriter) => {
          const args = method.request.map((f) => `$e.${f.name}`).join(', ');
          const event = method.request.length > 0 ? '$e' : '';
          w.writeLine(`return this.#channel.on(${hex32(method.messageType)}, ${decoderName(bodies.request)}, (${event}) => handler(${args}));`);
        },
      };
    }
    if (method.kind === 'oneway') {
      return {
        name: method.name,
        docs: paramDocs(method, 'One-way: resolves once the server has taken the message.'),
        parameters: parameters(method.request, ctx),
        returnType: 'Promise<void>',
        statements: (w: CodeBlockWriter) => {
          w.writeLine(`return this.#channel.send(${hex32(method.messageType)}, ($w) => ${encoderName(bodies.request)}($w, ${objectOf(method.request)}));`);
        },
      };
    }
    const errorNote = method.error ? `Rejects with {@link ${names.error!}} when the server returns an error.` : '';
    return {
      name: method.name,
      docs: paramDocs(method, errorNote),
      parameters: parameters(method.request, ctx),
      returnType: `Promise<${bodies.response!}>`,
      statements: (w: CodeBlockWriter) => {
        w.write(`return this.#channel.call(`).indent(() => {
          w.writeLine(`${hex32(method.messageType)},`);
          w.writeLine(`'${method.name}',`);
          w.writeLine(`($w) => ${encoderName(bodies.request)}($w, ${objectOf(method.request)}),`);
          w.writeLine(`${decoderName(bodies.response!)},`);
          if (method.error) w.writeLine(`($r) => new ${names.error!}(${decodeExpression(method.error, ctx)}, '${fullName}.${method.name}'),`);
        });
        w.writeLine(');');
      },
    };
  });
  return {
    kind: StructureKind.Class,
    isExported: true,
    name: names.client,
    docs: [
      {
        description: docText(protocol.docs, `Client of protocol ${protocol.name}: one method per method, \`onX\` per event. Calls from one process are queued, one at a time. A call whose arguments fail to encode returns a promise rejected with \`IpcError('InvalidArgument')\` and sends nothing.`)!,
        tags: [{ tagName: 'example', text: clientExample(protocol) }],
      },
    ],
    // A protocol without methods or events never reads its channel (noUnusedLocals would reject the field).
    properties: protocol.methods.length > 0 ? [{ name: '#channel', isReadonly: true, type: clientChannel }] : [],
    ctors: [
      {
        docs: [
          {
            description: `Talks to a ${protocol.name} server from \`proc\` through \`channel\`.`,
            tags: [
              { tagName: 'param', text: 'proc - the calling process' },
              { tagName: 'param', text: 'channel - a capability with SEND to the server endpoint' },
              { tagName: 'param', text: 'options - call timeout and the event-handler error sink' },
            ],
          },
        ],
        parameters: [
          { name: 'proc', type: ctx.runtimeType('StubProcess') },
          { name: 'channel', type: ctx.runtimeType('CapHandle') },
          { name: 'options', type: ctx.runtimeType('ClientOptions'), hasQuestionToken: true },
        ],
        statements: [`${protocol.methods.length > 0 ? 'this.#channel = ' : ''}new ${clientChannel}(proc, channel, '${fullName}', options);`],
      },
    ],
    methods,
  };
}

function serverInterface(protocol: ProtocolModel, ctx: ModuleContext): StatementStructures {
  const names = protocolNames(protocol);
  return {
    kind: StructureKind.Interface,
    isExported: true,
    name: names.server,
    docs: optionalDocs(
      docText(
        protocol.docs,
        `What a ${protocol.name} server implements: one method per method (events are sent with the handle \`${names.serve}\` returns). Throw {@link ${names.error ?? 'ApplicationError'}} from a method with an \`error\` type to return that error.`,
      ),
    ),
    methods: protocol.methods
      .filter((m) => m.kind !== 'event')
      .map((method) => {
        const bodies = messageBodyNames(protocol, method);
        let returnType: string;
        if (method.kind === 'oneway') returnType = 'void | Promise<void>';
        else if (method.response!.length === 0) returnType = `${bodies.response!} | void | Promise<${bodies.response!} | void>`;
        else returnType = `${bodies.response!} | Promise<${bodies.response!}>`;
        return { name: memberName(method.name), docs: paramDocs(method), parameters: parameters(method.request, ctx), returnType };
      }),
  };
}

function handleInterface(protocol: ProtocolModel, ctx: ModuleContext): StatementStructures {
  const names = protocolNames(protocol);
  return {
    kind: StructureKind.Interface,
    isExported: true,
    name: names.handle,
    docs: [`A running ${protocol.name} server, as \`${names.serve}\` returns it.`],
    properties: [{ name: 'closed', isReadonly: true, type: 'Promise<void>', docs: ['Settles when the serve loop has ended.'] }],
    methods: [
      {
        name: 'close',
        returnType: 'void',
        docs: ['Stops serving: after the request in progress, or after the next message when the loop waits in receive.'],
      },
      ...protocol.methods
        .filter((m) => m.kind === 'event')
        .map((method) => ({
          name: memberName(method.name),
          docs: paramDocs(method, `Queues event ${method.name} for every subscribed client.`),
          parameters: parameters(method.request, ctx),
          returnType: 'void',
        })),
    ],
  };
}

function serveFunction(protocol: ProtocolModel, ctx: ModuleContext): StatementStructures {
  const names = protocolNames(protocol);
  return {
    kind: StructureKind.Function,
    isExported: true,
    name: names.serve,
    docs: [
      {
        description: `Serves protocol ${protocol.name} on \`endpoint\` with \`impl\` until closed. Requests are handled one at a time.`,
        tags: [
          { tagName: 'example', text: serverExample(protocol) },
          { tagName: 'param', text: 'proc - the serving process (it serves one endpoint at a time: a process has one blocking operation)' },
          { tagName: 'param', text: 'endpoint - a capability with RECEIVE' },
          { tagName: 'param', text: 'impl - the implementation' },
          { tagName: 'param', text: 'options - where handler failures are reported' },
          { tagName: 'returns', text: 'A handle to stop serving and to send events.' },
        ],
      },
    ],
    parameters: [
      { name: 'proc', type: ctx.runtimeType('StubProcess') },
      { name: 'endpoint', type: ctx.runtimeType('CapHandle') },
      { name: 'impl', type: names.server },
      { name: 'options', type: ctx.runtimeType('ServeOptions'), hasQuestionToken: true },
    ],
    returnType: names.handle,
    statements: (w) => {
      if (protocol.methods.every((m) => m.kind === 'event')) w.writeLine('void impl; // only events: no method to dispatch');
      w.write(`const $methods: ${ctx.runtimeType('ServerMethod')}[] = [`).indent(() => {
        for (const method of protocol.methods) {
          if (method.kind === 'event') continue;
          const bodies = messageBodyNames(protocol, method);
          w.write('').inlineBlock(() => {
            w.writeLine(`type: ${hex32(method.messageType)},`);
            w.writeLine(`name: '${method.name}',`);
            w.writeLine(`oneway: ${method.kind === 'oneway'},`);
            w.writeLine(`decode: ${decoderName(bodies.request)},`);
            const args = method.request.map((f) => `$q.${f.name}`).join(', ');
            w.writeLine(`run: (${method.request.length > 0 ? `$q: ${bodies.request}` : ''}) => impl.${method.name}(${args}),`);
            if (bodies.response) w.writeLine(`encodeResponse: ${encoderName(bodies.response)},`);
            if (method.error) w.writeLine(`encodeError: ($w, $e) => ${encodeExpression(method.error, `$e as ${tsType(method.error, ctx)}`, ctx)},`);
          });
          w.write(',').newLine();
        }
      });
      w.writeLine('];');
      w.writeLine(`const $binding = ${ctx.runtimeValue('serveProtocol')}(proc, endpoint, '${qualifiedName(protocol)}', $methods, options);`);
      w.write('return ').inlineBlock(() => {
        w.writeLine('closed: $binding.closed,');
        w.writeLine('close: () => $binding.close(),');
        for (const method of protocol.methods) {
          if (method.kind !== 'event') continue;
          const bodies = messageBodyNames(protocol, method);
          const params = method.request.map((f) => f.name).join(', ');
          w.writeLine(`${method.name}: (${params}) => $binding.emit(${hex32(method.messageType)}, ($w) => ${encoderName(bodies.request)}($w, ${objectOf(method.request)})),`);
        }
      });
      w.write(';').newLine();
    },
  };
}
