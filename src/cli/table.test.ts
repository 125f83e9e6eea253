import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadCommander, quickParse, registerAll, type CommandSpec } from "./table.js";

describe("the CLI's command table", () => {
  const calls: unknown[][] = [];
  const table: CommandSpec[] = [
    {
      name: "deploy",
      args: ["<service>", "[artifact]"],
      description: "d",
      options: [{ flags: "--env <environment>", description: "e" }, { flags: "--watch", description: "w" }, { flags: "--skip-watch", description: "s" }, { flags: "--json", description: "j" }],
      run: (...call) => void calls.push(call),
    },
    { name: "logs", args: ["<service>"], description: "l", options: [{ flags: "-n, --lines <n>", description: "n", default: "50" }], run: (...call) => void calls.push(call) },
  ];

  /** What commander would hand the command for the same argv. */
  async function viaCommander(argv: string[]): Promise<unknown[]> {
    const { Command } = loadCommander();
    const program = new Command("engineroom").option("-c, --config <file>", "c").exitOverride();
    registerAll(program, table);
    calls.length = 0;
    await program.parseAsync(argv, { from: "user" });
    return calls[0]!;
  }

  it("parses a well-formed command line as commander does", async () => {
    for (const argv of [
      ["deploy", "web"],
      ["deploy", "web", "./app", "--env", "staging", "--watch"],
      ["-c", "x.yaml", "deploy", "--skip-watch", "web", "--json"],
      ["deploy", "web", "--env=production"],
      ["logs", "web", "-n", "5"],
      ["logs", "web", "--config", "y.yaml"],
      ["logs", "web"],
    ]) {
      const quick = quickParse(argv, table);
      assert.ok(quick, argv.join(" "));
      const expected = await viaCommander(argv);
      const clean = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
      assert.deepEqual(
        [quick.args, clean(quick.options), clean(quick.globals)],
        [expected[0], clean(expected[1] as object), clean(expected[2] as object)],
        argv.join(" "),
      );
    }
  });

  it("leaves anything unusual to commander: help, unknown commands and options, missing or extra arguments", () => {
    for (const argv of [[], ["--help"], ["deploy", "web", "-h"], ["help", "deploy"], ["nope"], ["deploy"], ["deploy", "a", "b", "c"], ["deploy", "web", "--nope"], ["logs", "web", "-n"], ["deploy", "web", "--json=yes"], ["--version"]]) {
      assert.equal(quickParse(argv, table), undefined, argv.join(" "));
    }
  });
});
