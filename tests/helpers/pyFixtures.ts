/**
 * Test files written by a Python generator (tests/fixtures/*.py, Debian's python3 with h5py and numpy)
 * into a temp dir once per test file, with the outputs the generator computed by numpy.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const PY = '/usr/bin/python3';

/** Whether PY imports h5py and numpy; warns that `what` is skipped when it does not. */
export function pythonHasH5py(what: string): boolean {
  const ok = spawnSync(PY, ['-c', 'import h5py, numpy'], { stdio: 'ignore' }).status === 0;
  if (!ok) console.warn(`SKIPPING ${what}: ${PY} cannot import h5py and numpy (apt install python3-h5py)`);
  return ok;
}

/**
 * Before the file's tests: a fresh temp dir `prefix…` and, when `run` is true, tests/fixtures/`script`
 * run with it as its only argument (a failure fails the suite with the generator's stderr). After
 * them the dir is removed. Returns the dir's path (valid once beforeAll ran).
 */
export function generatedFixtures(script: string, prefix: string, run: boolean): () => string {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    if (!run) return;
    const r = spawnSync(PY, [path.join(__dirname, '..', 'fixtures', script), dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`fixture generator ${script} failed: ${r.stderr}`);
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}
