import { constants } from 'node:fs';
import fs from 'node:fs/promises';

/**
 * Reads a file that steers execution (the env file, a state file, a worktree's Dockerfile) without ever
 * blocking the process: a FIFO, a device or a directory is refused before a byte is read, the size is
 * bounded, and the whole read has a deadline.
 */
export class UnsafeFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: 'not_regular' | 'symlink' | 'too_large' | 'timeout' | 'unreadable',
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'UnsafeFileError';
  }
}

export interface SafeReadOptions {
  maxBytes: number;
  /** Refuse a symbolic link (state files): the file must be the regular file at that very path. */
  noFollow?: boolean;
  timeoutMs?: number;
}

const KIND: [(s: import('node:fs').Stats) => boolean, string][] = [
  [(s) => s.isFIFO(), 'a FIFO (named pipe)'],
  [(s) => s.isDirectory(), 'a directory'],
  [(s) => s.isCharacterDevice() || s.isBlockDevice(), 'a device'],
  [(s) => s.isSocket(), 'a socket'],
];

function kindOf(s: import('node:fs').Stats): string {
  return KIND.find(([test]) => test(s))?.[1] ?? 'not a regular file';
}

/** `undefined` when the file does not exist; never follows into anything but a regular file. */
export async function readRegularFile(file: string, opts: SafeReadOptions): Promise<string | undefined> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UnsafeFileError(
            file,
            'timeout',
            `not read within ${timeoutMs} ms (a hung network mount?); fix the file system, then retry`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([read(file, opts), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function read(file: string, opts: SafeReadOptions): Promise<string | undefined> {
  if (opts.noFollow) {
    const link = await fs.lstat(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new UnsafeFileError(file, 'unreadable', `cannot be read (${err.code ?? err.message})`);
    });
    if (!link) return undefined;
    if (link.isSymbolicLink())
      throw new UnsafeFileError(file, 'symlink', 'is a symbolic link; only a regular file is read here');
  }
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, holding a libuv thread.
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow ? constants.O_NOFOLLOW : 0);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP')
      throw new UnsafeFileError(file, 'symlink', 'is a symbolic link; only a regular file is read here');
    throw new UnsafeFileError(file, 'unreadable', `cannot be read (${code ?? String(err)})`);
  }
  try {
    // fstat on the open descriptor: what is read is what was checked, even if the path is swapped meanwhile.
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new UnsafeFileError(file, 'not_regular', `is ${kindOf(stat)}, not a regular file`);
    if (stat.size > opts.maxBytes)
      throw new UnsafeFileError(
        file,
        'too_large',
        `is ${stat.size} bytes, more than the ${opts.maxBytes} bytes allowed here`,
      );
    const buf = Buffer.alloc(opts.maxBytes + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      // Grew while being read: over the limit all the same.
      if (total > opts.maxBytes)
        throw new UnsafeFileError(file, 'too_large', `grew past ${opts.maxBytes} bytes while being read`);
    }
    return buf.subarray(0, total).toString('utf8');
  } finally {
    await handle.close();
  }
}
