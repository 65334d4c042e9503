// Runs `tsc --noEmit` and `vitest run` in web/ (the meson test web-unit).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const web = path.resolve(process.argv[2]);
const bin = (p) => path.join(web, 'node_modules', p);
const env = { ...process.env, NO_COLOR: '1', CI: '1' };
let r = spawnSync(process.execPath, [bin('typescript/bin/tsc'), '--noEmit', '-p', web], { cwd: web, stdio: 'inherit', env });
if (r.status !== 0) {
  console.error('web-unit: TypeScript check failed');
  process.exit(1);
}
r = spawnSync(process.execPath, [bin('vitest/vitest.mjs'), 'run', '--reporter=default'], { cwd: web, stdio: 'inherit', env });
process.exit(r.status ?? 1);
