import * as pulumi from "@pulumi/pulumi";

/**
 * A dynamic provider whose code lives in a module file.
 *
 * The engine serializes a provider object into the state and runs it in a
 * separate process (`pulumi-resource-pulumi-nodejs`). Serializing a whole
 * provider with its imports is fragile, so the object serialized is only this
 * forwarder: it captures the implementation's absolute path and loads it in
 * the provider process, registering ts-node there first (that process knows no
 * TypeScript). The implementation module exports `provider`.
 */
export function providerFromModule(moduleFile: string): pulumi.dynamic.ResourceProvider {
  const file = moduleFile;
  const load = (): Required<pulumi.dynamic.ResourceProvider> => {
    if (file.endsWith(".ts") && !require.extensions[".ts"]) {
      require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    }
    return require(file).provider;
  };
  return {
    check: (olds, news) => load().check(olds, news),
    diff: (id, olds, news) => load().diff(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read(id, props),
    update: (id, olds, news) => load().update(id, olds, news),
    delete: (id, props) => load().delete(id, props),
  };
}

/** Names a dynamic resource `pulumi-nodejs:dynamic/nestlab:<type>`. */
export const DYNAMIC_MODULE = "nestlab";
