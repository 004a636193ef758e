/** What a failed file write means, in words (with the system's code), for the messages of the CLI and of `download()`. */

const WRITE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'its directory does not exist',
  ENOTDIR: 'a part of its path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EISDIR: 'it is a directory',
  EMFILE: 'too many open files',
};

/** `its directory does not exist (ENOENT)`, or the error's code or message when it is another. */
export function describeWriteError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') {
    const meaning = Object.hasOwn(WRITE_ERRORS, code) ? WRITE_ERRORS[code] : undefined;
    return meaning === undefined ? code : `${meaning} (${code})`;
  }
  return error instanceof Error ? error.message : String(error);
}
