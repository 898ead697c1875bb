import { HostAccess } from "../host/access";
import { virshLookup, virsh } from "./virsh";

/**
 * A domain's state and the one way to stop it, shared by NestedDomain and
 * LabMachine. The pure part (states, what to do) first, then the two host
 * operations.
 */

/** libvirt's domain states as `virsh domstate` prints them. */
export type DomainState =
  "running" | "idle" | "paused" | "in shutdown" | "shut off" | "crashed" | "pmsuspended";

/** `virsh domstate` → the state text ("running", "shut off", "paused"…). */
export function parseDomState(text: string): string {
  return text.trim().split("\n")[0]?.trim() ?? "";
}

/** Whether QEMU runs for the domain (anything but shut off or crashed). */
export function isActive(state: string): boolean {
  return state !== "shut off" && state !== "crashed" && state !== "";
}

/** What to do to bring an existing domain to running. */
export type StartAction = "none" | "start" | "resume" | "wake" | "refuse";

export function startAction(state: string): StartAction {
  switch (state) {
    case "running":
    case "idle":
      return "none";
    case "paused":
      return "resume";
    // Suspended by the guest itself (ACPI S3/S4): `virsh resume` does not wake it.
    case "pmsuspended":
      return "wake";
    case "shut off":
    case "crashed":
      return "start";
    default:
      // "in shutdown": wait for it to finish rather than race it.
      return "refuse";
  }
}

/** The domain's state, or undefined when no such domain is defined. */
export async function domainState(
  host: HostAccess,
  uri: string,
  domain: string,
): Promise<string | undefined> {
  const state = await virshLookup(host, uri, "domain", ["domstate", domain]);
  return state === undefined ? undefined : parseDomState(state);
}

/** How often a shutdown is looked at. */
const SHUTDOWN_POLL_MS = 500;

/**
 * ACPI shutdown, waiting up to timeoutSeconds, then a forced stop. Nothing
 * to do when the domain is off or gone.
 */
export async function stopDomain(
  host: HostAccess,
  uri: string,
  domain: string,
  timeoutSeconds: number,
): Promise<void> {
  const active = async (): Promise<boolean> =>
    isActive((await domainState(host, uri, domain)) ?? "");
  if (!(await active())) return;
  if (timeoutSeconds > 0) {
    await host.run(virsh(uri, "shutdown", domain, "--mode", "acpi"), { allowFailure: true });
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline) {
      if (!(await active())) return;
      await sleep(SHUTDOWN_POLL_MS);
    }
  }
  const r = await host.run(virsh(uri, "destroy", domain), { allowFailure: true });
  if (r.exitCode !== 0 && (await active())) {
    throw new Error(`virsh destroy ${domain} on ${host.label} failed: ${r.stderr.trim()}`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
