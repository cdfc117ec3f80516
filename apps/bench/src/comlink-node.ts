import nodeAdapter from 'comlink/dist/umd/node-adapter.js';

/**
 * comlink's adapter from a `worker_threads` port or `Worker` to its endpoint. Its typings
 * declare an ES default export, but the UMD file Node loads sets `module.exports` to the function
 * itself: what `import` yields is the function.
 */
export const nodeEndpoint = nodeAdapter as unknown as typeof nodeAdapter.default;
