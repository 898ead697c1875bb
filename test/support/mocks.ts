import * as pulumi from "@pulumi/pulumi";

/** A resource the program registered, as the mocks saw it. */
export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

/**
 * Installs Pulumi's mocks and returns the list every registered resource is
 * appended to. A resource's state is its inputs plus `outputs[type]`: the
 * values its provider would compute. Call it before importing components.
 */
export function recordResources(
  outputs: Readonly<Record<string, Record<string, unknown>>> = {},
): Registered[] {
  const registered: Registered[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...(outputs[args.type] ?? {}) } };
      },
      call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
    },
    "nestlab",
    "test",
    false,
  );
  return registered;
}

/** An Output's value, in a test. */
export function value<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply(resolve));
}
