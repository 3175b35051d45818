/**
 * The codegraph VS Code extension: starts `python -m codegraph lsp` and connects to it.
 *
 * Diagnostics, quick fixes (apply the repair, add `# noqa: CGxxx`) and hovers all come
 * from the server; this file only chooses the interpreter, passes the `codegraph.*`
 * settings, offers a restart command and logs to the "codegraph" output channel.
 */
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

import { SETTINGS_SECTION, initializationOptions, serverCommand } from "./launch";
import { findInterpreter, onInterpreterChange } from "./python";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let restarting: Promise<void> = Promise.resolve();

function settingsGetter(): (key: string) => unknown {
  const config = vscode.workspace.getConfiguration(SETTINGS_SECTION);
  return (key) => config.get(key);
}

async function start(): Promise<void> {
  const interpreter = await findInterpreter(vscode.workspace.workspaceFolders?.[0]?.uri);
  const cmd = serverCommand(interpreter.path);
  output.appendLine(`starting: ${cmd.command} ${cmd.args.join(" ")} (interpreter from ${interpreter.source})`);
  const serverOptions: ServerOptions = {
    command: cmd.command,
    args: cmd.args,
    transport: TransportKind.stdio,
    options: { env: cmd.env, cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
    ],
    initializationOptions: initializationOptions(settingsGetter()),
    synchronize: { configurationSection: SETTINGS_SECTION },
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
  };
  client = new LanguageClient("codegraph", "codegraph", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    const message =
      `codegraph: the language server did not start with ${cmd.command} (${String(err)}). ` +
      "Install codegraph-gnn into that interpreter or set `codegraph.interpreter`.";
    output.appendLine(message);
    void vscode.window.showErrorMessage(message, "Show Output").then((choice) => {
      if (choice) {
        output.show();
      }
    });
    client = undefined;
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop();
    } catch (err) {
      output.appendLine(`stopping the server failed: ${String(err)}`);
    }
  }
}

/** Stop and start again (a new interpreter or server version is picked up); restarts never overlap. */
function restart(): Promise<void> {
  restarting = restarting.then(async () => {
    await stop();
    await start();
  });
  return restarting;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("codegraph");
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("codegraph.restart", restart),
    vscode.commands.registerCommand("codegraph.showOutput", () => output.show()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SETTINGS_SECTION}.interpreter`)) {
        void restart();
      }
    }),
  );
  const watcher = await onInterpreterChange(() => {
    const configured = vscode.workspace.getConfiguration(SETTINGS_SECTION).get<string>("interpreter", "");
    if (!configured.trim()) {
      void restart();
    }
  });
  if (watcher) {
    context.subscriptions.push(watcher);
  }
  await restart();
}

export async function deactivate(): Promise<void> {
  await stop();
}
