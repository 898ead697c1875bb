import type * as pulumi from "@pulumi/pulumi";
import { InvalidArgumentError } from "../core/errors";

/** An error class a provider reports as a failure of one property. */
type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * The one way a provider's check() turns an error into failures the engine
 * shows: an InvalidArgumentError names its top-level argument (`disks` for
 * `disks[0].path`), each class in `others` the property given beside it;
 * anything else is not the user's doing and is thrown on.
 */
export function checkFailures(
  e: unknown,
  others: readonly (readonly [ErrorClass, string])[] = [],
  options: { readonly argumentProperty?: string } = {},
): pulumi.dynamic.CheckFailure[] {
  if (e instanceof InvalidArgumentError) {
    return [
      {
        property: options.argumentProperty ?? topLevelArgument(e.argument),
        reason: e.message,
      },
    ];
  }
  for (const [errorClass, property] of others) {
    if (e instanceof errorClass) return [{ property, reason: (e as Error).message }];
  }
  throw e;
}

/** `disks[0].path` → `disks`; `vnc.port` → `vnc`. */
export function topLevelArgument(argument: string): string {
  return argument.split(/[.[]/)[0];
}
