import { promises as fs } from "fs";
import * as path from "path";
import { parseReviewArgs } from "./args";
import { gateFailure } from "./gate";
import { review } from "./index";
import { runPreview } from "./run";

/**
 * `npm run review`: the preview of a stack as a pull-request comment.
 * Exit 0; 1 when --fail-on matched; 2 when the preview failed or the
 * arguments are wrong.
 */
async function main(argv: readonly string[]): Promise<number> {
  const args = parseReviewArgs(argv);
  // Paths are the caller's: npm runs scripts in the project folder and says where it was called.
  const here = (file: string) => path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
  const text = args.preview
    ? await fs.readFile(here(args.preview), "utf8")
    : await runPreview({ stack: args.stack, workDir: path.resolve(__dirname, "..") });
  const { facts, markdown } = review(text, args.stack);
  if (args.out) await fs.writeFile(here(args.out), markdown);
  else process.stdout.write(markdown);
  if (args.json) await fs.writeFile(here(args.json), JSON.stringify(facts, null, 2) + "\n");
  if (facts.errors.length > 0) {
    process.stderr.write(
      `review: the preview of stack ${facts.stack} failed:\n${facts.errors.join("\n")}\n`,
    );
    return 2;
  }
  const failure = gateFailure(facts, args.failOn);
  if (failure) {
    process.stderr.write(`review: ${failure}\n`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`review: ${e.message}\n`);
    process.exit(2);
  },
);
