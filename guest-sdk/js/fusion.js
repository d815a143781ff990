// Write Fusion tasks in JavaScript.
//
// A task is a module `task.js` that exports `handle = task(handler)`: the handler takes the
// request's JSON value and returns (or resolves to) the response's. It calls other tasks by name with `call` (wait
// for the result) or `spawn` (fire and forget); whether the callee runs in the same process or
// in another function is decided by the fusion setup, not by the task:
//
//     import { call, spawn, task } from '../../../guest-sdk/js/fusion.js';
//
//     export const handle = task((reading) => {
//       const verdict = call('check', reading); // sync: waits for the result
//       spawn('archive', reading);              // async: runs on its own
//       return { alarm: verdict.alarm };
//     });
//
// A failed call throws a `CallError` whose `kind` is the WIT error kind. An exception that
// escapes `handle` reaches the caller as an `application` error with its name and message.
// `fusion build` turns the module into a component with componentize-js.

import { invoke, invokeAll } from 'fusion:task/invoke@0.1.0';
import * as kvStore from 'fusion:task/kv@0.1.0';

/** A call to another task failed; `kind` is the WIT error kind, e.g. `'not-found'`. */
export class CallError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'CallError';
    this.kind = kind;
  }

  toString() {
    return `${this.kind}: ${this.message}`;
  }
}

/** Calls `task` with a JSON value and waits for its JSON result. */
export function call(task, input) {
  return decode(task, callBytes(task, encode(task, input)));
}

/** Calls `task` with raw bytes (a Uint8Array) and waits for its raw result. */
export function callBytes(task, payload) {
  return host(() => invoke(task, payload, 'sync'));
}

/** Starts `task` without waiting for it; returns once the work was accepted. */
export function spawn(task, input) {
  spawnBytes(task, encode(task, input));
}

/** Starts `task` with raw bytes without waiting for it. */
export function spawnBytes(task, payload) {
  host(() => invoke(task, payload, 'async'));
}

/**
 * Calls several `[task, input]` pairs synchronously and concurrently. Returns one entry per
 * call, in order: the JSON result, or the `CallError` it failed with (returned, not thrown, so
 * one failure does not hide the other results).
 */
export function callAll(calls) {
  const requests = calls.map(([task, input]) => ({ task, payload: encode(task, input) }));
  return invokeAll(requests).map((result, i) =>
    result.tag === 'ok' ? decode(calls[i][0], result.val) : new CallError(result.val.kind, result.val.message),
  );
}

/** Wraps a JSON handler (sync or async) as the component's `handle` export. */
export function task(handler) {
  return async (payload) => {
    let input;
    try {
      input = payload.length === 0 ? null : JSON.parse(utf8.decode(payload));
    } catch (err) {
      throw { payload: `invalid input: ${err.message}` };
    }
    try {
      return utf8Encoder.encode(JSON.stringify((await handler(input)) ?? null));
    } catch (err) {
      throw { payload: describe(err) };
    }
  };
}

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

function describe(err) {
  if (err instanceof CallError) return err.toString();
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** Runs a host call, turning the WIT error it throws into an `ErrorClass` (kind, message). */
function host(run, ErrorClass = CallError) {
  try {
    return run();
  } catch (err) {
    const wit = err && err.payload;
    if (wit && typeof wit.kind === 'string') throw new ErrorClass(wit.kind, wit.message);
    throw err;
  }
}

function encode(task, input) {
  try {
    return utf8Encoder.encode(JSON.stringify(input ?? null));
  } catch (err) {
    throw new CallError('rejected', `cannot encode the input for '${task}': ${err.message}`);
  }
}

function decode(task, output) {
  try {
    return output.length === 0 ? null : JSON.parse(utf8.decode(output));
  } catch (err) {
    throw new CallError('application', `invalid response from '${task}': ${err.message}`);
  }
}

/** A store operation failed; `kind` is the WIT kind: `'denied'`, `'too-large'`, `'not-a-number'` or `'unavailable'`. */
export class KvError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'KvError';
    this.kind = kind;
  }

  toString() {
    return `${this.kind}: ${this.message}`;
  }
}

/**
 * The key-value stores the task is granted (`kv = ["cart"]` in fusion.toml), shared by every
 * task of the app granted them, fused or remote. Values are Uint8Arrays; `increment` works on
 * decimal integers (BigInt), atomically.
 */
export const kv = {
  get: (store, key) => host(() => kvStore.get(store, key), KvError),
  set: (store, key, value) => host(() => kvStore.set(store, key, value), KvError),
  delete: (store, key) => host(() => kvStore.delete(store, key), KvError),
  exists: (store, key) => host(() => kvStore.exists(store, key), KvError),
  keys: (store, prefix) => host(() => kvStore.listKeys(store, prefix), KvError),
  increment: (store, key, delta) => host(() => kvStore.increment(store, key, BigInt(delta)), KvError),
  compareAndSwap: (store, key, expected, value) => host(() => kvStore.compareAndSwap(store, key, expected, value), KvError),
};
