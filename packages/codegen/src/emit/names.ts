/**
 * Every TypeScript name the emitter generates, in one place, so the checker can report
 * collisions (VIDL0501) before anything is emitted, with the same rules the emitter uses.
 */
import type { DeclarationModel, MethodModel, ProtocolModel } from '../model.js';

/** `read` → `Read`, `legacy_sync` → `LegacySync`, `getURL` → `GetURL`. */
export function pascalCase(name: string): string {
  return name
    .split('_')
    .filter((part) => part.length > 0)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/** Name of the encode function of a type. */
export function encoderName(typeName: string): string {
  return `encode${typeName}`;
}

/** Name of the decode function of a type. */
export function decoderName(typeName: string): string {
  return `decode${typeName}`;
}

/** The names generated for one protocol. */
export interface ProtocolNames {
  /** `FileProtocol`: name and ordinals. */
  readonly descriptor: string;
  /** `FileClient`. */
  readonly client: string;
  /** `FileServer`: the interface an implementation satisfies. */
  readonly server: string;
  /** `FileServerHandle`: what `serveFile` returns. */
  readonly handle: string;
  /** `serveFile`. */
  readonly serve: string;
  /** `FileError`: the application error class (only when a method declares `error`). */
  readonly error: string | undefined;
}

/** Names generated for a protocol. */
export function protocolNames(protocol: ProtocolModel): ProtocolNames {
  const p = protocol.name;
  return {
    descriptor: `${p}Protocol`,
    client: `${p}Client`,
    server: `${p}Server`,
    handle: `${p}ServerHandle`,
    serve: `serve${p}`,
    error: protocol.methods.some((m) => m.error) ? `${p}Error` : undefined,
  };
}

/** The message body types of a method: request (or event payload) and response. */
export interface MessageBodyNames {
  /** `FileReadRequest`, or `FileChangedEvent` for an event. */
  readonly request: string;
  /** `FileReadResponse` for a two-way method. */
  readonly response: string | undefined;
}

/** Names of a method's message body types. */
export function messageBodyNames(protocol: ProtocolModel, method: MethodModel): MessageBodyNames {
  const base = `${protocol.name}${pascalCase(method.name)}`;
  return {
    request: method.kind === 'event' ? `${base}Event` : `${base}Request`,
    response: method.kind === 'twoWay' ? `${base}Response` : undefined,
  };
}

/** The client method that subscribes to an event: `changed` → `onChanged`. */
export function eventSubscriberName(event: string): string {
  return `on${pascalCase(event)}`;
}

/**
 * The identifier a generated module imports another library's module as: dots become `$`
 * and a `$` ends it, so it can never equal a VIDL name (which has no `$`).
 */
export function libraryAlias(library: string): string {
  return `${library.split('.').join('$')}$`;
}

/** File name of a library's generated module: `demo.fs.ts`. */
export function moduleFileName(library: string): string {
  return `${library}.ts`;
}

/** Every top-level name a declaration generates, in emission order. */
export function generatedNames(decl: DeclarationModel): string[] {
  switch (decl.kind) {
    case 'const':
      return [decl.name];
    case 'enum':
    case 'bits':
    case 'struct':
    case 'union':
      return [decl.name, encoderName(decl.name), decoderName(decl.name)];
    case 'protocol': {
      const names = protocolNames(decl);
      const out = [names.descriptor];
      for (const method of decl.methods) {
        const bodies = messageBodyNames(decl, method);
        for (const body of [bodies.request, bodies.response]) if (body) out.push(body, encoderName(body), decoderName(body));
      }
      if (names.error) out.push(names.error);
      out.push(names.client, names.server, names.handle, names.serve);
      return out;
    }
  }
}

/** Members of the generated client class: one per two-way or one-way method, `onX` per event. */
export function clientMemberNames(protocol: ProtocolModel): Array<{ name: string; method: MethodModel }> {
  return protocol.methods.map((method) => ({ name: method.kind === 'event' ? eventSubscriberName(method.name) : method.name, method }));
}
