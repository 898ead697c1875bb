import { oneOf, optionalBoolean } from "../core/checks";
import { InvalidArgumentError } from "../core/errors";
import { DomainSpec, DomainType, isUnknown } from "./spec";

/**
 * The guest CPU's checks: the arguments alone (validateCpu), and what the
 * domain type allows (validateCpuForDomainType, once the type is decided).
 */

const FEATURE_POLICIES = ["force", "require", "optional", "disable", "forbid"] as const;

export function validateCpu(spec: DomainSpec): void {
  const cpu = spec.cpu;
  if (isUnknown(cpu)) return;
  if (cpu === undefined || cpu === null || typeof cpu !== "object") {
    throw new InvalidArgumentError(
      "cpu",
      cpu,
      '{ mode: "host-passthrough" | "host-model" | "custom", model?, features? }',
    );
  }
  oneOf("cpu.mode", cpu.mode, ["host-passthrough", "host-model", "custom"], false);
  if (!isUnknown(cpu.mode) && !isUnknown(cpu.model)) {
    if (
      cpu.mode === "custom" &&
      (typeof cpu.model !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(cpu.model))
    ) {
      throw new InvalidArgumentError(
        "cpu.model",
        cpu.model,
        'a CPU model name for mode "custom", e.g. "qemu64", "EPYC" or "Haswell" (`virsh cpu-models x86_64` lists them)',
      );
    }
    if (cpu.mode !== "custom" && cpu.model !== undefined) {
      throw new InvalidArgumentError(
        "cpu.model",
        cpu.model,
        `nothing for mode "${cpu.mode}" (a model is only chosen with mode "custom")`,
      );
    }
  }
  optionalBoolean("cpu.nested", cpu.nested);
  if (cpu.features === undefined || isUnknown(cpu.features)) return;
  if (!Array.isArray(cpu.features))
    throw new InvalidArgumentError("cpu.features", cpu.features, "a list of { name, policy }");
  const seen = new Set<string>();
  cpu.features.forEach((f, i) => {
    if (isUnknown(f)) return;
    if (
      !isUnknown(f.name) &&
      (typeof f.name !== "string" || !/^[a-z0-9][a-z0-9_.-]{0,63}$/i.test(f.name))
    ) {
      throw new InvalidArgumentError(
        `cpu.features[${i}].name`,
        f.name,
        'a CPU feature name as libvirt spells it, e.g. "svm", "vmx", "pdpe1gb"',
      );
    }
    oneOf(`cpu.features[${i}].policy`, f.policy, FEATURE_POLICIES, false);
    if (seen.has(f.name))
      throw new InvalidArgumentError(`cpu.features[${i}].name`, f.name, "each feature once");
    seen.add(f.name);
  });
}

/**
 * What the domain type allows: TCG (type "qemu") emulates a CPU, so it has
 * no host CPU to pass through, and of the two virtualization extensions it
 * emulates only AMD's SVM.
 */
export function validateCpuForDomainType(
  spec: { cpu: DomainSpec["cpu"] },
  domainType: DomainType,
): void {
  if (domainType !== "qemu" || isUnknown(spec.cpu)) return;
  if (spec.cpu.mode === "host-passthrough") {
    throw new InvalidArgumentError(
      "cpu.mode",
      spec.cpu.mode,
      'a mode this host can give: it has no usable KVM, so the domain runs under TCG emulation (domain type "qemu"), which has no host CPU to pass through. ' +
        'Use { mode: "custom", model: "qemu64" } (or another AMD model that `virsh domcapabilities` lists as usable): TCG emulates SVM, so the guest can still run KVM',
    );
  }
  const vmx = (spec.cpu.features ?? []).find(
    (f) => f.name === "vmx" && (f.policy === "require" || f.policy === "force"),
  );
  if (vmx) {
    throw new InvalidArgumentError(
      "cpu.features",
      vmx,
      'features TCG can emulate: it emulates AMD SVM, not Intel VMX. Require "svm" with an AMD or generic model (e.g. "qemu64")',
    );
  }
}
