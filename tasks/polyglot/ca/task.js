// IoT CA in JavaScript: calls DJ (Rust) synchronously, then AS (Rust) asynchronously.
import { call, spawn, task } from '../../../guest-sdk/js/fusion.js';
import { forCallee } from '../../workload/workload.js';

export const handle = task((payload) => {
  const next = forCallee(payload, 'CA');
  const dj = call('DJ', next);
  spawn('AS', next);
  return { task: 'CA', dj };
});
