/** A small, strict argument parser: every unknown flag or missing value is a clear CnnvisError. */
import { CnnvisError } from '../errors';

export interface FlagSpec {
  /** Takes a value (`--top 5`) or is a switch (`--json`). */
  value: boolean;
  help: string;
  /** Value placeholder for help, e.g. '<n>'. */
  arg?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional arguments, e.g. ['<image>']. */
  positionals: string[];
  flags: Record<string, FlagSpec>;
  examples: string[];
}

export interface Parsed {
  positionals: string[];
  flags: Record<string, string | true>;
}

export function parseArgs(spec: CommandSpec, argv: string[]): Parsed {
  const positionals: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const f = spec.flags[name];
      if (!f) {
        throw new CnnvisError(`unknown option --${name} for '${spec.name}'; valid: ${Object.keys(spec.flags).map((k) => '--' + k).join(', ')}`);
      }
      if (f.value) {
        const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined || (eq < 0 && v.startsWith('--'))) throw new CnnvisError(`option --${name} needs a value ${f.arg ?? ''}`.trim());
        flags[name] = v;
      } else {
        if (eq > 0) throw new CnnvisError(`option --${name} takes no value`);
        flags[name] = true;
      }
    } else if (a === '-h') {
      flags.help = true;
    } else {
      positionals.push(a);
    }
  }
  if (!flags.help) {
    const required = spec.positionals.filter((p) => p.startsWith('<'));
    if (positionals.length < required.length) {
      throw new CnnvisError(`'${spec.name}' needs ${required.join(' ')}; usage: cnnvis ${usage(spec)}`);
    }
    if (positionals.length > spec.positionals.length) {
      throw new CnnvisError(`'${spec.name}' got an unexpected argument '${positionals[spec.positionals.length]}'; usage: cnnvis ${usage(spec)}`);
    }
  }
  return { positionals, flags };
}

export function usage(spec: CommandSpec): string {
  const flags = Object.entries(spec.flags)
    .filter(([k]) => k !== 'help')
    .map(([k, f]) => (f.value ? `[--${k} ${f.arg ?? '<value>'}]` : `[--${k}]`));
  return [spec.name, ...spec.positionals, ...flags].join(' ');
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`usage: cnnvis ${usage(spec)}`, '', spec.summary, '', 'options:'];
  const w = Math.max(...Object.entries(spec.flags).map(([k, f]) => k.length + (f.arg ? f.arg.length + 1 : 0)));
  for (const [k, f] of Object.entries(spec.flags)) {
    lines.push(`  --${(k + (f.arg ? ' ' + f.arg : '')).padEnd(w)}  ${f.help}`);
  }
  if (spec.examples.length) lines.push('', 'examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** A positive integer flag value. */
export function intFlag(v: string | true | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v === true || !Number.isInteger(n) || n < 1) throw new CnnvisError(`--${name} must be a positive whole number, got '${String(v)}'`);
  return n;
}

/** A `--size W×H` value (also `WxH`, or one number for a square) as [height, width]. */
export function sizeFlag(v: string | true): [number, number] {
  const m = typeof v === 'string' ? /^\s*(\d+)\s*(?:[x×X]\s*(\d+)\s*)?$/.exec(v) : null;
  const w = m ? Number(m[1]) : NaN;
  const h = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || w < 1 || h < 1 || w > 4096 || h > 4096) {
    throw new CnnvisError(`--size must be width×height in pixels (1–4096), e.g. 320x240; got '${String(v)}'`);
  }
  return [h, w];
}
