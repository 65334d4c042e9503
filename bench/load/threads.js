'use strict';
// The CPU of a `cordon serve` process split by what its threads do, for the
// cost per message (docs/BENCH.md, "Several nodes"): the event loop (the
// main thread: sockets, frames), the request workers (srv_pool: the guard
// on each text, the plan), the writer (group commits), the bus threads
// (Redis publisher and subscriber), and the rest (checkpointer, file
// inspection, signals...). The server names no threads, so each thread is
// told by the function it started in: gdb attaches once, after the server
// started and before anything is measured, and reads every thread's stack.
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const TICK = 100;
const PARTS = { worker_main: 'workers', writer_main: 'writer', sub_main: 'bus', pub_main: 'bus' };

// {tid: part} for pid; {} when gdb is missing or may not attach.
function classify(pid) {
  const r = spawnSync('gdb', ['-batch', '-nx', '-p', String(pid), '-ex', 'thread apply all bt'],
    { encoding: 'utf8', timeout: 60000 });
  const out = {};
  if (r.status !== 0 || !r.stdout) return out;
  let tid = null, last = null;
  const flush = () => { if (tid !== null) out[tid] = tid === pid ? 'loop' : PARTS[last] || 'other'; };
  for (const line of r.stdout.split('\n')) {
    const t = /^Thread \d+ .*\(LWP (\d+)\)/.exec(line);
    if (t) { flush(); tid = Number(t[1]); last = null; continue; }
    const f = /^#\d+\s+(?:0x[0-9a-f]+ in )?(\w+)/.exec(line);
    // the start routine is the frame under start_thread
    if (f && f[1] !== 'start_thread' && f[1] !== 'clone' && f[1] !== 'clone3' && !/^__/.test(f[1])) last = f[1];
  }
  flush();
  return out;
}

// CPU seconds of pid's threads, summed by part (threads gdb did not see,
// started later, count as `other`).
function partsCpu(pid, map) {
  const sums = { loop: 0, workers: 0, writer: 0, bus: 0, other: 0 };
  let tids;
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { return sums; }
  for (const t of tids) {
    let s;
    try { s = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'); } catch { continue; }
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const part = map[Number(t)] || (Number(t) === pid ? 'loop' : 'other');
    sums[part] += (Number(f[11]) + Number(f[12])) / TICK;
  }
  return sums;
}

module.exports = { classify, partsCpu };
