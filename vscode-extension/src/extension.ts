/**
 * The codegraph VS Code extension: starts one codegraph language server per workspace folder
 * and connects to it.
 *
 * Diagnostics, quick fixes (apply the repair, add `# noqa: CGxxx`) and hovers all come
 * from the server; this file only chooses each folder's program (`codegraph.path`, or its
 * interpreter with `-P -m codegraph lsp`), passes the `codegraph.*` settings, refuses to run a
 * program chosen by an untrusted workspace, offers a restart command and logs to the
 * "codegraph" output channel.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

import {
  LAUNCH_SETTING_KEYS,
  SETTINGS_SECTION,
  SettingOrigin,
  initializationOptions,
  launchSettings,
  serverCommand,
  untrustedLaunch,
} from "./launch";
import { findInterpreter, onInterpreterChange, substitute } from "./python";

/** Running clients by workspace folder URI ("" for a window without folders). */
const clients = new Map<string, LanguageClient>();
let output: vscode.OutputChannel;
let bundledLibs: string;
let restarting: Promise<void> = Promise.resolve();

function key(folder?: vscode.WorkspaceFolder): string {
  return folder ? folder.uri.toString() : "";
}

function documentSelector(folder?: vscode.WorkspaceFolder): LanguageClientOptions["documentSelector"] {
  if (!folder) {
    return [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
    ];
  }
  const selector: NonNullable<LanguageClientOptions["documentSelector"]> = [
    { scheme: "file", language: "python", pattern: `${folder.uri.fsPath}/**/*` },
  ];
  if (folder.index === 0) {
    selector.push({ scheme: "untitled", language: "python" }); // unsaved buffers go to the first folder's server
  }
  return selector;
}

async function start(folder?: vscode.WorkspaceFolder): Promise<void> {
  const config = vscode.workspace.getConfiguration(SETTINGS_SECTION, folder?.uri);
  const origins: Record<string, SettingOrigin | undefined> = {};
  for (const name of LAUNCH_SETTING_KEYS) {
    origins[name] = config.inspect(name);
  }
  const refusal = untrustedLaunch(vscode.workspace.isTrusted, origins);
  const label = folder ? ` (${folder.name})` : "";
  if (refusal) {
    output.appendLine(refusal + label);
    void vscode.window.showWarningMessage(refusal);
    return;
  }
  const settings = launchSettings((k) => config.get(k));
  settings.path = settings.path.map((part) => substitute(part, folder));
  const interpreter = await findInterpreter(folder);
  const cmd = serverCommand(interpreter.command, settings, process.env, bundledLibs);
  const from = settings.path.length > 0 ? "codegraph.path" : `interpreter from ${interpreter.source}`;
  output.appendLine(`starting${label}: ${cmd.command} ${cmd.args.join(" ")} (${from})`);
  const serverOptions: ServerOptions = {
    command: cmd.command,
    args: cmd.args,
    transport: TransportKind.stdio,
    options: { env: cmd.env, cwd: folder?.uri.fsPath },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: documentSelector(folder),
    workspaceFolder: folder,
    initializationOptions: initializationOptions((k) => config.get(k)),
    synchronize: { configurationSection: SETTINGS_SECTION },
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
  };
  const client = new LanguageClient("codegraph", `codegraph${label}`, serverOptions, clientOptions);
  try {
    await client.start();
    clients.set(key(folder), client);
  } catch (err) {
    const message =
      `codegraph${label}: the language server did not start with ${cmd.command} (${String(err)}). ` +
      "Install codegraph-gnn into that interpreter, or set `codegraph.interpreter` or `codegraph.path`.";
    output.appendLine(message);
    void vscode.window.showErrorMessage(message, "Show Output").then((choice) => {
      if (choice) {
        output.show();
      }
    });
  }
}

async function stop(folderKey: string): Promise<void> {
  const running = clients.get(folderKey);
  clients.delete(folderKey);
  if (running) {
    try {
      await running.stop();
    } catch (err) {
      output.appendLine(`stopping the server failed: ${String(err)}`);
    }
  }
}

function folders(): (vscode.WorkspaceFolder | undefined)[] {
  const open = vscode.workspace.workspaceFolders ?? [];
  return open.length > 0 ? [...open] : [undefined];
}

/** Stop and start again the servers of ``only`` (default: every folder); restarts never overlap. */
function restart(only?: (vscode.WorkspaceFolder | undefined)[]): Promise<void> {
  restarting = restarting.then(async () => {
    const targets = only ?? folders();
    const wanted = new Set(folders().map(key));
    for (const k of [...clients.keys()]) {
      if (!wanted.has(k) || targets.some((f) => key(f) === k)) {
        await stop(k);
      }
    }
    for (const folder of targets) {
      if (wanted.has(key(folder))) {
        await start(folder);
      }
    }
  });
  return restarting;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("codegraph");
  bundledLibs = path.join(context.extensionPath, "bundled", "libs");
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("codegraph.restart", () => restart()),
    vscode.commands.registerCommand("codegraph.showOutput", () => output.show()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      const affected = folders().filter((f) =>
        LAUNCH_SETTING_KEYS.some((k) => e.affectsConfiguration(`${SETTINGS_SECTION}.${k}`, f?.uri)),
      );
      if (affected.length > 0) {
        void restart(affected);
      }
    }),
    vscode.workspace.onDidChangeWorkspaceFolders((e) => void restart([...e.added, ...e.removed])),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void restart()),
  );
  const watcher = await onInterpreterChange((folder) => {
    const targets = folder ? [folder] : folders();
    void restart(
      targets.filter(
        (f) => launchSettings((k) => vscode.workspace.getConfiguration(SETTINGS_SECTION, f?.uri).get(k)).interpreter
          .length === 0,
      ),
    );
  });
  if (watcher) {
    context.subscriptions.push(watcher);
  }
  await restart();
}

export async function deactivate(): Promise<void> {
  for (const k of [...clients.keys()]) {
    await stop(k);
  }
}
