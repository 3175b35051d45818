// Starts the codegraph language server exactly as the extension does (the launch module is
// shared with src/extension.ts) and checks that a diagnostic arrives for a buggy file.
//
//   CODEGRAPH_PYTHON      the interpreter (the Makefile passes $(PYTHON)); default python3
//   CODEGRAPH_TEST_MODEL  a checkpoint to use; default: the shipped model, or while there is
//                         none, a tiny random one made by tests/lsp/make_tiny_model.py
"use strict";

const assert = require("node:assert/strict");
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { pathToFileURL } = require("node:url");
const { test } = require("node:test");
const rpc = require("vscode-jsonrpc/node");

const launch = require("../out/launch.js");

const REPO = path.resolve(__dirname, "..", "..");
const PYTHON = process.env.CODEGRAPH_PYTHON || launch.defaultInterpreter();
const BUGGY = [
  "def area(width, height):",
  "    return width * width",
  "",
  "",
  "def last(items):",
  "    return items[len(items) - 0]",
  "",
].join("\n");

function testModel(dir) {
  if (process.env.CODEGRAPH_TEST_MODEL) {
    return process.env.CODEGRAPH_TEST_MODEL;
  }
  const script = path.join(REPO, "tests", "lsp", "make_tiny_model.py");
  const args = [script, "--prefer-shipped", path.join(dir, "tiny-model")];
  const out = execFileSync(PYTHON, args, { cwd: REPO, encoding: "utf8" });
  return out.trim().split("\n").pop();
}

function waitFor(connection, method, predicate, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
    connection.onNotification(method, (params) => {
      if (predicate(params)) {
        clearTimeout(timer);
        resolve(params);
      }
    });
  });
}

test("the server the extension starts publishes a diagnostic for a buggy file", { timeout: 90_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "codegraph-ext-"));
  const model = testModel(dir);
  const file = path.join(dir, "buggy.py");
  fs.writeFileSync(file, BUGGY);
  const uri = pathToFileURL(file).href;

  // a package of the workspace named like the server's: `-P` keeps it from being imported
  fs.mkdirSync(path.join(dir, "codegraph"));
  fs.writeFileSync(path.join(dir, "codegraph", "__init__.py"), "raise SystemExit('imported from the workspace')\n");
  const cmd = launch.serverCommand(PYTHON);
  assert.deepEqual(cmd.args, ["-P", "-m", "codegraph", "lsp"]);
  const server = spawn(cmd.command, cmd.args, { cwd: dir, env: cmd.env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  server.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => server.on("exit", (code) => resolve(code)));

  const connection = rpc.createMessageConnection(
    new rpc.StreamMessageReader(server.stdout),
    new rpc.StreamMessageWriter(server.stdin),
  );
  connection.listen();
  try {
    const settings = { minConfidence: 0, model, enable: true, select: null, ignore: undefined };
    const init = await connection.sendRequest("initialize", {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      capabilities: {},
      initializationOptions: launch.initializationOptions((key) => settings[key]),
    });
    assert.ok(init.capabilities.codeActionProvider, "the server offers code actions");
    assert.ok(init.capabilities.hoverProvider, "the server offers hovers");
    await connection.sendNotification("initialized", {});

    const published = waitFor(
      connection,
      "textDocument/publishDiagnostics",
      (p) => p.uri === uri && p.diagnostics.length > 0,
      60_000,
    );
    await connection.sendNotification("textDocument/didOpen", {
      textDocument: { uri, languageId: "python", version: 1, text: BUGGY },
    });
    const params = await published;
    assert.equal(params.version, 1);
    for (const d of params.diagnostics) {
      assert.equal(d.source, "codegraph");
      assert.match(String(d.code), /^CG00[1-8]$/);
    }

    await connection.sendRequest("shutdown");
    await connection.sendNotification("exit");
    assert.equal(await exited, 0, `server exit code (stderr: ${stderr.slice(-2000)})`);
  } catch (err) {
    server.kill();
    err.message += `\n--- server stderr ---\n${stderr.slice(-4000)}`;
    throw err;
  } finally {
    connection.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
