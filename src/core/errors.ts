/**
 * An error the CLI ends with: it carries its exit code and the lines it prints on stderr, so the CLI's
 * top level turns any of them into output and an exit code by class alone (changesets' ExitError idea).
 * In core because io (config, state file, Temporal connection) throws these too, and io must not import cli.
 */
export class CliError extends Error {
  readonly exitCode: number;
  /** Printed as `redeploy: <message>` (errors whose message does not already say it is redeploy's). */
  readonly prefixed: boolean;

  constructor(message: string, exitCode: number, options: ErrorOptions & { prefixed?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.prefixed = options.prefixed ?? false;
  }

  /** What the CLI prints on stderr before exiting. */
  lines(): string[] {
    return [this.prefixed ? `redeploy: ${this.message}` : this.message];
  }
}

/** Usage or configuration error: nothing was started (the seed's exit code). */
export const EXIT_USAGE = 2;
/** The run failed or was aborted, or Temporal could not be reached. */
export const EXIT_FAILED = 1;
