/**
 * Which file a volume is: the device, inode and birth time of the file this
 * resource made (`<device>:<inode>:<birth>`). Inode numbers are reused once
 * a file is gone, so the inode alone could take a file someone made later
 * under the same name for ours; the birth time tells them apart (it is 0 on
 * file systems that keep none, where device and inode must do).
 */
export function fileIdArgv(file: string): string[] {
  return ["stat", "--printf", "%d:%i:%.9W", "--", file];
}

/** What the state recorded about the volume's file: `fileId`, or (older states) the inode alone. */
export interface RecordedFile {
  readonly fileId?: string;
  readonly inode?: string;
}

/** Whether the file now at the volume's path (its fileIdArgv output) is the one recorded. */
export function isRecordedFile(recorded: RecordedFile, now: string): boolean {
  if (recorded.fileId) return recorded.fileId === now;
  return (
    recorded.inode !== undefined && recorded.inode !== "" && now.split(":")[1] === recorded.inode
  );
}
