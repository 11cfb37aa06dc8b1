/** The `cnnvis` command run in-process: its exit code and what it wrote to stdout and stderr. */
import { main } from '../../kernel/src/cli/main';

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}
