import { readRegularFile, UnsafeFileError } from './safe-read.js';

/**
 * Reads the operator's env file (`~/.omnibase/.env`) the way `source` would for the lines such files
 * hold: `KEY=value`, optional `export `, single/double quotes, `#` comments, `$VAR`/`${VAR}` expansion.
 * Anything else is refused with its line number (never its content: it may hold a secret).
 */
export interface EnvFile {
  path: string;
  exists: boolean;
  vars: Record<string, string>;
}

export class EnvFileError extends Error {
  constructor(
    readonly file: string,
    readonly lines: number[],
    message?: string,
  ) {
    super(
      message ??
        `${file}: line${lines.length > 1 ? 's' : ''} ${lines.join(', ')} ${lines.length > 1 ? 'are' : 'is'} not KEY=value ` +
          `(allowed: KEY=value, export KEY=value, quotes, # comments, $VAR and \${VAR}; not $(…), backticks, \${VAR:-…}, unquoted spaces or backslashes); fix the file and retry`,
    );
    this.name = 'EnvFileError';
  }
}

/** The env file holds a few dozen lines; anything near this is not an env file. */
export const ENV_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Variables that change which program runs or what it loads (a PATH to another `git`, a BASH_ENV that
 * bash sources before deploy-runtime.sh, a GIT_DIR that points our checks at another repository). The
 * env file configures the stack, not redeploy's own execution: such a line is refused.
 */
const STEERING_RE =
  /^(PATH|BASH_ENV|SHELLOPTS|BASHOPTS|PS4|IFS|PYTHONPATH|PYTHONHOME|PYTHONSTARTUP|NODE_OPTIONS|GIT_.*|LD_.*|DYLD_.*|BASH_FUNC_.*)$/;

const ASSIGN_RE = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
/** Shell features `source` would evaluate and we do not: refused rather than silently read differently. */
const UNSUPPORTED_RE = /`|\$\(|\$\{(?![A-Za-z_][A-Za-z0-9_]*\})/;

function expand(text: string, lookup: (name: string) => string | undefined): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, a?: string, b?: string) => {
      return lookup((a ?? b) as string) ?? '';
    },
  );
}

export function parseEnvFile(
  text: string,
  file: string,
  base: NodeJS.ProcessEnv = {},
): Record<string, string> {
  const vars: Record<string, string> = {};
  const bad: number[] = [];
  const steering: string[] = [];
  const lookup = (name: string): string | undefined => vars[name] ?? base[name];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = ASSIGN_RE.exec(line);
    if (!m) {
      bad.push(index + 1);
      return;
    }
    const name = m[1] as string;
    const rest = m[2] as string;
    if (STEERING_RE.test(name)) return void steering.push(`${name} (line ${index + 1})`);
    let value: string;
    if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end === -1 || !/^\s*(#.*)?$/.test(rest.slice(end + 1))) return void bad.push(index + 1);
      value = rest.slice(1, end);
    } else if (rest.startsWith('"')) {
      let i = 1;
      let out = '';
      for (; i < rest.length && rest[i] !== '"'; i++) {
        if (rest[i] === '\\' && i + 1 < rest.length && '"\\$`'.includes(rest[i + 1] as string)) {
          // An escaped `$` must survive expansion: park it as a placeholder.
          out += rest[i + 1] === '$' ? '\u0000' : rest[i + 1];
          i++;
        } else out += rest[i];
      }
      if (i >= rest.length || !/^\s*(#.*)?$/.test(rest.slice(i + 1)) || UNSUPPORTED_RE.test(out))
        return void bad.push(index + 1);
      // eslint-disable-next-line no-control-regex -- NUL is the placeholder parked above; it cannot occur in a value
      value = expand(out, lookup).replace(/\u0000/g, '$');
    } else {
      const raw = rest.replace(/\s+#.*$/, '').trim();
      // Unquoted whitespace would make bash run a command; a backslash escapes differently: quote such values.
      if (/[\s\\]/.test(raw) || UNSUPPORTED_RE.test(raw)) return void bad.push(index + 1);
      value = expand(raw, lookup);
    }
    vars[name] = value;
  });
  if (bad.length > 0) throw new EnvFileError(file, bad);
  if (steering.length > 0)
    throw new EnvFileError(
      file,
      [],
      `${file} sets ${steering.join(', ')}, which would change which programs redeploy and the deploy ` +
        `scripts run; set such variables in the worker's own environment instead, remove the line${steering.length > 1 ? 's' : ''} and retry`,
    );
  return vars;
}

/**
 * A missing file is not an error here: the variables may come from the worker's own environment. A FIFO,
 * a directory, a device, a huge file or a read that hangs is: never opened blocking, never read unbounded.
 */
export async function readEnvFile(file: string, base: NodeJS.ProcessEnv = {}): Promise<EnvFile> {
  let text: string | undefined;
  try {
    text = await readRegularFile(file, { maxBytes: ENV_FILE_MAX_BYTES, timeoutMs: 5000 });
  } catch (err) {
    if (err instanceof UnsafeFileError)
      throw new EnvFileError(
        file,
        [],
        `env file ${err.message}. Point REDEPLOY_ENV_FILE at a regular file of KEY=value lines (or fix this one), then retry`,
      );
    throw err;
  }
  if (text === undefined) return { path: file, exists: false, vars: {} };
  return { path: file, exists: true, vars: parseEnvFile(text, file, base) };
}
