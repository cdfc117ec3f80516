import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink';
import { nodeEndpoint } from '../comlink-node.js';

/** The comlink peer: a worker exposing `echo`, called from the main thread through a comlink proxy. */
export const api = {
  echo(data: Uint8Array): Uint8Array {
    return data;
  },
};
export type EchoApi = typeof api;

expose(api, nodeEndpoint(parentPort!));
