// Everything the gateway keeps under DATA_DIR is owner-only: files 0600, directories 0700. New
// files are created that way; files left looser by an older version, a restore or a hand copy
// are tightened when a process starts.
import { chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const GROUP_OTHER = 0o077;

/** Drops group and other permissions of `path` if it has any; true when it changed. */
function tighten(path: string, mode: number): boolean {
  if ((mode & GROUP_OTHER) === 0) return false;
  chmodSync(path, mode & 0o700);
  return true;
}

function modeOf(path: string): number | undefined {
  try {
    return lstatSync(path).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Makes an SQLite database file owner-only before SQLite opens it: its directory 0700, the file
 * created 0600 when missing (SQLite gives its -wal and -shm files the database file's mode), and
 * an existing file and its side files tightened.
 */
export function prepareOwnerOnlySqlite(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, constants.O_CREAT | constants.O_RDWR, 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    const mode = modeOf(path);
    if (mode !== undefined) tighten(path, mode);
  }
}

export interface TightenResult {
  /** Files and directories whose group or other permissions were removed. */
  readonly tightened: string[];
  /** Paths that could not be changed (another owner), with the reason. */
  readonly failed: { path: string; reason: string }[];
}

/** Removes group and other permissions from `root` and everything under it (symlinks are left alone). */
export function tightenTree(root: string): TightenResult {
  const result: TightenResult = { tightened: [], failed: [] };
  const visit = (path: string): void => {
    let mode: number | undefined;
    try {
      mode = modeOf(path);
      if (mode === undefined || (mode & constants.S_IFMT) === constants.S_IFLNK) return;
      if (tighten(path, mode)) result.tightened.push(path);
    } catch (error) {
      result.failed.push({ path, reason: (error as NodeJS.ErrnoException).code ?? String(error) });
      return;
    }
    if ((mode & constants.S_IFMT) !== constants.S_IFDIR) return;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (error) {
      result.failed.push({ path, reason: (error as NodeJS.ErrnoException).code ?? String(error) });
      return;
    }
    for (const name of names) visit(join(path, name));
  };
  visit(root);
  return result;
}
