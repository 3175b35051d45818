// The launch settings of the python-tools-extension-template conventions, and workspace trust,
// checked on the module the extension itself uses (out/launch.js).
"use strict";

const assert = require("node:assert/strict");
const { test } = require("node:test");

const launch = require("../out/launch.js");

test("the interpreter runs the server with -P, the template's settings shape the command", () => {
  const env = { PATH: "/bin" };
  let cmd = launch.serverCommand(["/venv/bin/python"], {}, env);
  assert.equal(cmd.command, "/venv/bin/python");
  assert.deepEqual(cmd.args, ["-P", "-m", "codegraph", "lsp"]);
  assert.equal(cmd.env.PYTHONPATH, undefined);
  cmd = launch.serverCommand(["/usr/bin/env", "python3.11"], { args: ["--debounce", "500"] }, env);
  assert.deepEqual([cmd.command, ...cmd.args], ["/usr/bin/env", "python3.11", "-P", "-m", "codegraph", "lsp", "--debounce", "500"]);
  cmd = launch.serverCommand(["python3"], { path: ["/opt/codegraph", "--verbose"], args: ["-v"] }, env);
  assert.deepEqual([cmd.command, ...cmd.args], ["/opt/codegraph", "--verbose", "lsp", "-v"]);
  cmd = launch.serverCommand(["python3"], { importStrategy: "useBundled" }, { PYTHONPATH: "/x" }, "/ext/bundled/libs");
  assert.equal(cmd.env.PYTHONPATH, "/ext/bundled/libs:/x");
  cmd = launch.serverCommand(["python3"], { importStrategy: "fromEnvironment" }, {}, "/ext/bundled/libs");
  assert.equal(cmd.env.PYTHONPATH, undefined);
});

test("settings are read as arrays; an old string interpreter still works", () => {
  const values = { interpreter: " /venv/bin/python ", path: ["a", 3, ""], importStrategy: "useBundled" };
  assert.deepEqual(launch.launchSettings((k) => values[k]), {
    path: ["a"],
    interpreter: ["/venv/bin/python"],
    importStrategy: "useBundled",
    args: [],
  });
  assert.equal(launch.launchSettings(() => undefined).importStrategy, "fromEnvironment");
});

test("an untrusted workspace may not choose the program", () => {
  const fromWorkspace = { interpreter: { workspaceValue: ["./evil"] }, path: {} };
  assert.equal(launch.untrustedLaunch(true, fromWorkspace), undefined);
  assert.match(launch.untrustedLaunch(false, fromWorkspace), /not trusted.*codegraph\.interpreter/);
  const folderPath = { path: { workspaceFolderValue: ["./x"] } };
  assert.match(launch.untrustedLaunch(false, folderPath), /codegraph\.path/);
  assert.equal(launch.untrustedLaunch(false, { interpreter: { globalValue: ["/usr/bin/python3"] }, path: undefined }), undefined);
});

test("package.json declares the settings and the trust capability", () => {
  const pkg = require("../package.json");
  const props = pkg.contributes.configuration.properties;
  for (const key of launch.LAUNCH_SETTING_KEYS) {
    assert.ok(props[`codegraph.${key}`], key);
  }
  assert.equal(props["codegraph.interpreter"].type, "array");
  assert.deepEqual(props["codegraph.importStrategy"].enum, ["useBundled", "fromEnvironment"]);
  const trust = pkg.capabilities.untrustedWorkspaces;
  assert.equal(trust.supported, "limited");
  assert.deepEqual([...trust.restrictedConfigurations].sort(), launch.LAUNCH_SETTING_KEYS.map((k) => `codegraph.${k}`).sort());
});
