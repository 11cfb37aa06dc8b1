/**
 * The command-line grammar on node's `util.parseArgs` (tokens, non-strict), with cnnvis' own checks
 * on top so that every unknown flag or missing value is one clear CnnvisError that suggests the
 * flag that was probably meant.
 */
import { parseArgs as parseArgv } from 'util';
import { closest, distance } from 'fastest-levenshtein';
import { CnnvisError } from '../errors';

export interface FlagSpec {
  /** Takes a value (`--top 5`) or is a switch (`--json`). */
  value: boolean;
  help: string;
  /** Value placeholder for help, e.g. '<n>'. */
  arg?: string;
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional arguments, e.g. ['<image>']. */
  positionals: string[];
  flags: Record<string, FlagSpec>;
  examples: string[];
  /** Extra help text after the options (e.g. the method list). */
  more?: () => string[];
  /** Runs a model (so the CLI says first when the ONNX Runtime engine is missing). */
  computes?: boolean;
  run: (p: Parsed, io: Io) => Promise<void>;
}

export interface Parsed {
  positionals: string[];
  flags: Record<string, string | true>;
}

export function parseArgs(spec: CommandSpec, argv: string[]): Parsed {
  const options = Object.fromEntries(
    Object.entries(spec.flags).map(([k, f]) => [k, k === 'help' ? { type: 'boolean' as const, short: 'h' } : { type: f.value ? ('string' as const) : ('boolean' as const) }]),
  );
  const { tokens } = parseArgv({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const positionals: string[] = [];
  const flags: Record<string, string | true> = {};
  let shortAt = -1;
  for (const t of tokens) {
    if (t.kind === 'positional') {
      positionals.push(t.value);
    } else if (t.kind === 'option' && !t.rawName.startsWith('--') && t.name !== 'help') {
      // A dash word other than -h ('-5', '-x') is an argument, as the shell gave it.
      if (t.index !== shortAt) positionals.push(argv[t.index]);
      shortAt = t.index;
    } else if (t.kind === 'option') {
      const name = t.name;
      const f = spec.flags[name];
      if (!f) {
        const near = nearest(name, Object.keys(spec.flags));
        const valid = Object.keys(spec.flags).map((k) => '--' + k).join(', ');
        throw new CnnvisError(near
          ? `unknown option --${printable(name, 40)} for '${spec.name}'; did you mean --${near}? (valid: ${valid})`
          : `unknown option --${printable(name, 40)} for '${spec.name}'; valid: ${valid}`);
      }
      if (f.value) {
        // parseArgs takes the next word as the value even when it is a flag: `--top --json` misses a value.
        if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) throw new CnnvisError(`option --${name} needs a value ${f.arg ?? ''}`.trim());
        flags[name] = t.value;
      } else {
        if (t.inlineValue) throw new CnnvisError(`option --${name} takes no value`);
        flags[name] = true;
      }
    }
  }
  if (!flags.help) {
    const required = spec.positionals.filter((p) => p.startsWith('<'));
    if (positionals.length < required.length) {
      throw new CnnvisError(`'${spec.name}' needs ${required.join(' ')}; usage: cnnvis ${usage(spec)}`);
    }
    if (positionals.length > spec.positionals.length) {
      throw new CnnvisError(`'${spec.name}' got an unexpected argument '${printable(positionals[spec.positionals.length], 60)}'; usage: cnnvis ${usage(spec)}`);
    }
  }
  return { positionals, flags };
}

/**
 * The valid name a misspelt one most likely meant: the closest by edit distance (fastest-levenshtein),
 * if it is close enough to be a typo (a third of the longer name's letters, at least 1 edit, at most 3;
 * two swapped letters count as one),
 * or a valid name that starts with what was typed (`--out` for `--ou`).
 */
export function nearest(typed: string, valid: readonly string[]): string | null {
  if (!valid.length || !typed) return null;
  const lower = typed.toLowerCase();
  // Two swapped letters (--mdoel) count as one typo.
  const sorted = (s: string) => [...s].sort().join('');
  const swapped = valid.filter((v) => v.length === lower.length && sorted(v) === sorted(lower) && distance(v, lower) === 2);
  if (swapped.length === 1) return swapped[0];
  const best = closest(lower, valid as string[]);
  const d = distance(lower, best);
  if (d <= Math.min(3, Math.max(1, Math.ceil(Math.max(lower.length, best.length) / 3)))) return best;
  const prefixed = valid.filter((v) => v.startsWith(lower));
  return lower.length >= 2 && prefixed.length === 1 ? prefixed[0] : null;
}

/**
 * Text from the command line or a file made safe for a one-line message: control characters and
 * invalid UTF-8 shown as \xNN escapes, long text cut with an ellipsis.
 */
export function printable(text: string, max = Infinity): string {
  // eslint-disable-next-line no-control-regex
  const safe = text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, (c) => (c === '\ufffd' ? '?' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
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
  if (spec.more) lines.push('', ...spec.more());
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
