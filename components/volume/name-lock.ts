/**
 * One volume name in one pool folder is written by one conversion at a time:
 * `flock` on `<pool folder>/.<volumeName>.nestlab-lock`, held for the whole
 * create. Leftovers of killed runs (`.<volumeName>.nestlab-partial-*`) are
 * removed only under it, so no run ever removes another's file in flight.
 * Pure: the names and the holder's argv; pool-ops.ts runs it.
 */

/** How long a second run waits for the name before it gives up, in seconds. */
export const NAME_LOCK_WAIT_SECONDS = 10;

/** The holder's exit status when another run holds the name. */
export const NAME_LOCK_BUSY = 75;

/** What the holder prints once it holds the lock. */
export const NAME_LOCK_READY = "locked";

export function lockFileName(volumeName: string): string {
  return `.${volumeName}.nestlab-lock`;
}

/**
 * The holder, a fixed script ($1 the lock file, $2 seconds to wait): it locks
 * the file, says so, and keeps the lock until its standard input closes (the
 * provider releases it, or dies). The lock file is removed while still held,
 * so it never stays in the pool folder, where libvirt would list it as a
 * volume; a run that locked the removed file meanwhile sees that the name
 * now belongs to another file and locks again.
 */
export const NAME_LOCK_SCRIPT = `while :; do
  exec 9>>"$1" || exit 1
  flock -E ${NAME_LOCK_BUSY} -w "$2" 9 || exit $?
  [ "$(stat -L -c %d:%i /dev/fd/9)" = "$(stat -c %d:%i -- "$1" 2>/dev/null)" ] && break
  exec 9>&-
done
echo ${NAME_LOCK_READY}
cat >/dev/null
rm -f -- "$1"`;

export function nameLockArgv(poolPath: string, volumeName: string, waitSeconds: number): string[] {
  return [
    "sh",
    "-c",
    NAME_LOCK_SCRIPT,
    "sh",
    `${poolPath}/${lockFileName(volumeName)}`,
    String(waitSeconds),
  ];
}
