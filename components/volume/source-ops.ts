import { CommandError } from "../core/errors";
import { HostAccess } from "../host/access";
import { checkArgv, SourceLink, sourceName } from "./convert-argv";
import { SourceImageError } from "./errors";
import { FileFacts, headerArgv, parseOdHex, parseStat, statArgv } from "./fingerprint";

// What inspecting a source runs on its host, one question each (stat, a byte range,
// qemu-img check), with qemu-img's and the system's refusals turned into errors users read.

/**
 * `qemu-img check` (read-only, metadata only: the grain or L2 tables) finds
 * what opening does not, such as a vmdk truncated inside its data.
 */
export async function checkImage(host: HostAccess, link: SourceLink, shown: string): Promise<void> {
  if (link.format !== "vmdk" && link.format !== "qcow2") return;
  const r = await host.run(checkArgv(link), { allowFailure: true });
  // 3: leaked clusters only (harmless, the data is intact).
  if (r.exitCode === 0 || r.exitCode === 3) return;
  const said = `${r.stdout}\n${r.stderr}`;
  if (/lock/.test(said)) throw explainOpenFailure(shown, r.stderr, host.label, sourceName([link]));
  const error = /^ERROR:? (.+)$/m.exec(said)?.[1] ?? said.trim().replace(/^qemu-img: /gm, "");
  throw new SourceImageError(
    `${shown} is damaged: qemu-img check finds "${error.trim()}". ` +
      `The file is truncated or damaged (an interrupted copy or download?): copy it again from the original.`,
  );
}

/** A failure of qemu-img to open `file` (given to it as `name`, its pinned json: name), explained. */
export function explainOpenFailure(
  file: string,
  stderr: string,
  hostLabel: string,
  name?: string,
): Error {
  const said = (name === undefined ? stderr : stderr.split(name).join(file))
    .trim()
    .replace(/^qemu-img: /gm, "");
  if (/Failed to get (shared )?"?write"? lock|Is another process using the image/.test(stderr)) {
    return new SourceImageError(
      `${file} is in use: another process (a running VM?) holds it open for writing (${said}). ` +
        `Shut that VM down before converting: a copy of a disk that is being written is torn.`,
    );
  }
  if (/Permission denied/.test(stderr)) {
    return new SourceImageError(
      `${file} cannot be read on ${hostLabel} (${said}). Give the user that runs qemu-img read access to it.`,
    );
  }
  return new SourceImageError(
    `${file} cannot be opened as a disk image: ${said}. ` +
      `The file is damaged or incomplete (an interrupted copy or download?): copy it again from the original.`,
  );
}

export async function statFile(host: HostAccess, file: string): Promise<FileFacts> {
  const r = await host.run(statArgv([file]), { allowFailure: true });
  if (r.exitCode !== 0) {
    if (/No such file|Not a directory/.test(r.stderr)) {
      throw new SourceImageError(
        `${file} does not exist on ${host.label}. Check the path: it is a path on the libvirt host, not on the machine that runs pulumi.`,
      );
    }
    if (/Permission denied/.test(r.stderr)) {
      throw new SourceImageError(
        `${file} cannot be read on ${host.label} (permission denied on a folder of its path). ` +
          `Give the user that runs qemu-img access to it.`,
      );
    }
    throw new CommandError(statArgv([file]), r.exitCode, r.stderr, host.label);
  }
  return parseStat(r.stdout, [file])[0];
}

export async function statFiles(host: HostAccess, files: readonly string[]): Promise<FileFacts[]> {
  const r = await host.run(statArgv(files));
  return parseStat(r.stdout, files);
}

export async function requireReadable(host: HostAccess, file: string): Promise<void> {
  const r = await host.run(["test", "-r", file], { allowFailure: true });
  if (r.exitCode !== 0) {
    throw new SourceImageError(
      `${file} cannot be read on ${host.label} (permission denied). Give the user that runs qemu-img read access to it.`,
    );
  }
}

/** Reads a byte range of a file on the host (through `od`: binary-safe over SSH too). */
export async function readBytes(
  host: HostAccess,
  file: string,
  offset: number,
  length: number,
): Promise<Buffer> {
  const r = await host.run(headerArgv(file, offset, length));
  return parseOdHex(r.stdout);
}
