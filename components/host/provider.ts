import type * as pulumi from "@pulumi/pulumi";

/**
 * The type of every dynamic provider of this project: the engine's contract
 * (`pulumi.dynamic.ResourceProvider<Inputs, Outputs>`) with this resource's
 * inputs and outputs, so renaming a property breaks the compile, not a
 * preview. All six methods are implemented and answer in full; `configure`
 * is left out (the forwarder never calls it: each call carries its host).
 */
export interface HostProvider<Inputs, Outputs, Given = Inputs> {
  /**
   * `news` is what the component gave (`Given`: defaults not filled in yet),
   * `olds` the last checked inputs, empty on a create.
   */
  check(olds: Partial<Inputs>, news: Given): Promise<CheckResult<Inputs>>;
  diff(id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.DiffResult>;
  create(inputs: Inputs): Promise<{ readonly id: string; readonly outs: Outputs }>;
  /** The engine always hands read() the stored outputs (or, on import, the inputs). */
  read(id: string, props: Outputs): Promise<ReadResult<Inputs, Outputs>>;
  update(id: string, olds: Outputs, news: Inputs): Promise<{ readonly outs: Outputs }>;
  delete(id: string, props: Outputs): Promise<void>;
}

export interface CheckResult<Inputs> {
  readonly inputs: Inputs;
  readonly failures?: pulumi.dynamic.CheckFailure[];
}

/**
 * What a component hands its resource: a value (an Input, or undefined) for
 * every input the provider is given, so renaming an input breaks the compile.
 */
export type ResourceInputs<Given> = { readonly [K in keyof Given]-?: unknown };

/**
 * The inputs handed back as they were given: with failures (the engine shows
 * them and goes no further), or while values are not known yet (a preview:
 * check runs again once they are).
 */
export function asGiven<Inputs>(
  news: unknown,
  failures?: pulumi.dynamic.CheckFailure[],
): CheckResult<Inputs> {
  return failures ? { inputs: news as Inputs, failures } : { inputs: news as Inputs };
}

export interface ReadResult<Inputs, Outputs> {
  readonly id: string;
  readonly props: Outputs;
  /** The inputs as they are now, for the next diff (drift). */
  readonly inputs?: Partial<Inputs>;
}

/**
 * What read() answers for a resource that no longer exists: an empty id, and
 * no properties (typed as any resource's), so the engine drops it from the state.
 */
export const GONE: { readonly id: ""; readonly props: never } = { id: "", props: {} as never };
