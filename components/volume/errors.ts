/**
 * The source image cannot be used as it is: missing, unreadable, not a disk
 * image, a broken chain, a bad OVA. The message names the file and the fix.
 * Thrown before anything is written.
 */
export class SourceImageError extends Error {
  constructor(message: string) {
    super(`source: ${message}`);
    this.name = "SourceImageError";
  }
}
