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
