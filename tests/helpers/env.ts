/** Temporary folders and environment variables that tests change, put back afterwards. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * Returns a maker of fresh temp dirs named `prefix…`; all of them are removed after the tests of the
 * enclosing file or describe block.
 */
export function tmpDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  return () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
}

/** Puts the named environment variables back as they are now (unset stays unset) after each test. */
export function restoreEnvAfterEach(...names: string[]): void {
  const saved = names.map((n) => [n, process.env[n]] as const);
  afterEach(() => restoreEnv(saved));
}

function restoreEnv(saved: ReadonlyArray<readonly [string, string | undefined]>): void {
  for (const [n, v] of saved) {
    if (v === undefined) delete process.env[n];
    else process.env[n] = v;
  }
}

/** Runs fn with these environment variables set (undefined: unset), then puts all of them back. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T> | T): Promise<T> {
  const saved = Object.keys(vars).map((n) => [n, process.env[n]] as const);
  restoreEnv(Object.entries(vars));
  try {
    return await fn();
  } finally {
    restoreEnv(saved);
  }
}
