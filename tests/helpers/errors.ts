/** Asserts that `fn` throws a CnnvisError whose message matches every pattern. */
import { CnnvisError } from '../../kernel/src/errors';

export function expectCnnvisError(fn: () => unknown, ...patterns: RegExp[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CnnvisError);
  for (const p of patterns) expect((err as Error).message).toMatch(p);
}

/** The error a promise rejects with or a function throws; fails when there is none. */
export async function thrown(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}
