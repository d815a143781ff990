// The test kit's JavaScript task. By `op`: echo the input (the default), throw an exception,
// call another task and report how that went, count in a key-value store, or try to reach the
// network.
import { CallError, KvError, call, kv, spawn, task } from '../../../guest-sdk/js/fusion.js';

export const handle = task(async (request) => {
  const op = request?.op ?? 'echo';
  switch (op) {
    case 'echo':
      return request;
    case 'raise':
      throw new TypeError(request.message ?? 'thrown in JavaScript');
    case 'call':
      return outcome(() => call(request.task, request.input));
    case 'spawn':
      return outcome(() => spawn(request.task, request.input));
    case 'count':
      try {
        return { ok: Number(kv.increment(request.store ?? 'data', request.key, 1)) };
      } catch (err) {
        if (!(err instanceof KvError)) throw err;
        return { error: { class: err.name, kind: err.kind, message: err.message } };
      }
    case 'fetch':
      // The engine's only way out is WASI, and the component is built without wasi:http.
      await fetch('http://127.0.0.1:22/');
      return { fetched: true };
    default:
      throw new Error(`unknown op '${op}'`);
  }
});

/** What the call gave: its result, or its typed error as the SDK threw it. */
function outcome(run) {
  try {
    return { ok: run() ?? null };
  } catch (err) {
    if (!(err instanceof CallError)) throw err;
    return { error: { class: err.name, kind: err.kind, message: err.message } };
  }
}
