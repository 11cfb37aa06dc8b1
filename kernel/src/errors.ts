/**
 * One error type for every input problem a user can fix: it names what was wrong and what is valid.
 * The CLI prints `message` on one line and exits with code 2; notebooks show it as a normal error.
 */
export class CnnvisError extends Error {
  /** Valid choices (layer names, model names, ...) when the problem was a bad choice. */
  readonly choices?: readonly string[];
  constructor(message: string, choices?: readonly string[]) {
    super(message);
    this.name = 'CnnvisError';
    if (choices) this.choices = choices;
  }
}

/** Formats a list of valid choices for an error message, shortened when long. */
export function listChoices(choices: readonly string[], max = 40): string {
  if (choices.length <= max) return choices.join(', ');
  return `${choices.slice(0, max).join(', ')}, … (${choices.length - max} more)`;
}
