/**
 * Which Python runs the server for a workspace folder: the `codegraph.interpreter` setting of
 * that folder, else the interpreter the Python extension selected for it (through
 * `@vscode/python-extension`), else `python3`.
 */
import * as vscode from "vscode";
import { PythonExtension } from "@vscode/python-extension";

import { defaultInterpreter, stringList } from "./launch";

const PYTHON_EXTENSION = "ms-python.python";

async function pythonApi(): Promise<PythonExtension | undefined> {
  if (!vscode.extensions.getExtension(PYTHON_EXTENSION)) {
    return undefined; // the Python extension is optional
  }
  try {
    return await PythonExtension.api();
  } catch {
    return undefined;
  }
}

/** The Python extension's active interpreter for ``resource``, if it has one. */
async function activeInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const envs = (await pythonApi())?.environments;
  if (!envs) {
    return undefined;
  }
  const env = await envs.resolveEnvironment(envs.getActiveEnvironmentPath(resource));
  return env?.executable.uri?.fsPath;
}

export interface Interpreter {
  command: string[];
  source: "setting" | "python extension" | "default";
}

/** The interpreter (and its first arguments) to start the server with, and where it came from. */
export async function findInterpreter(folder?: vscode.WorkspaceFolder): Promise<Interpreter> {
  const configured = stringList(vscode.workspace.getConfiguration("codegraph", folder?.uri).get("interpreter"));
  if (configured.length > 0) {
    return { command: configured.map((part) => substitute(part, folder)), source: "setting" };
  }
  const active = await activeInterpreter(folder?.uri);
  if (active) {
    return { command: [active], source: "python extension" };
  }
  return { command: [defaultInterpreter()], source: "default" };
}

/** Calls ``listener`` with the folder whose active interpreter changed (if the Python extension is installed). */
export async function onInterpreterChange(
  listener: (folder: vscode.WorkspaceFolder | undefined) => void,
): Promise<vscode.Disposable | undefined> {
  const envs = (await pythonApi())?.environments;
  if (!envs) {
    return undefined;
  }
  return envs.onDidChangeActiveEnvironmentPath((e) => {
    const r = e.resource;
    listener(r instanceof vscode.Uri ? vscode.workspace.getWorkspaceFolder(r) : r);
  });
}

/** Expands `${workspaceFolder}` and `~` in a configured path. */
export function substitute(value: string, folder?: vscode.WorkspaceFolder): string {
  let out = value.replace(/\$\{workspaceFolder\}/g, folder?.uri.fsPath ?? "");
  if (out.startsWith("~/")) {
    out = (process.env.HOME ?? process.env.USERPROFILE ?? "~") + out.slice(1);
  }
  return out;
}
