/**
 * Atomic file replacement: the bytes go to a temporary file in the target's directory, are
 * flushed to disk (fsync), and only then renamed over the target. A crash, a full disk or any
 * other failure part-way leaves the previous file exactly as it was; rename within one directory
 * is atomic on POSIX file systems, so readers see the old file or the new one, never a mix.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WorldloopError } from '../errors.js';

/** The file operations used, replaceable so tests can make a write fail part-way. */
export interface AtomicFs {
  openSync: typeof openSync;
  writeSync: (fd: number, data: Uint8Array, offset: number, length: number) => number;
  fsyncSync: typeof fsyncSync;
  closeSync: typeof closeSync;
  renameSync: typeof renameSync;
  unlinkSync: typeof unlinkSync;
}

const realFs: AtomicFs = { openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync };

export function writeFileAtomic(path: string, data: Uint8Array, fs: AtomicFs = realFs): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // the temp file may never have been created
    }
    throw new WorldloopError('WL_IO', `cannot write '${path}': ${(err as Error).message} (any previous file is unchanged)`, { cause: err });
  }
  // Make the rename itself durable: fsync the directory entry (best effort; not all FS allow it).
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // directories cannot be fsynced on some file systems; the data itself is already on disk
  }
}
