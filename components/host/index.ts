import { HostAccess } from "./access";
import { HostSpec } from "./connection";
import { LocalHost } from "./local";
import { SshHost } from "./ssh";

export * from "./access";
export * from "./connection";

/** A host access for a provider call. Call `release()` when done (ends SSH). */
export function connect(
  spec: HostSpec,
  privateKey?: string,
): HostAccess & { release(): Promise<void> } {
  if (spec.ssh) {
    const host = new SshHost(spec.ssh, privateKey, spec.rootDir);
    return Object.assign(host, { release: () => host.close() });
  }
  const host = new LocalHost(spec.rootDir);
  return Object.assign(host, { release: () => host.releaseHeld() });
}

/** Runs `body` with a connected host and always releases it. */
export async function withHost<T>(
  spec: HostSpec,
  privateKey: string | undefined,
  body: (host: HostAccess) => Promise<T>,
): Promise<T> {
  const host = connect(spec, privateKey);
  try {
    return await body(host);
  } finally {
    await host.release();
  }
}
