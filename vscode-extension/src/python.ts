/**
 * Which Python runs the server: the `codegraph.interpreter` setting, else the interpreter
 * selected in the Python extension (ms-python.python, optional), else `python3`.
 */
import * as vscode from "vscode";

import { defaultInterpreter } from "./launch";

/** The parts of the Python extension's API that are used here (both are optional). */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment(
      env: { path: string } | string,
    ): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
  settings?: {
    getExecutionDetails?(resource?: vscode.Uri): { execCommand: string[] | undefined };
  };
}

const PYTHON_EXTENSION = "ms-python.python";

async function pythonApi(): Promise<PythonExtensionApi | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION);
  if (!ext) {
    return undefined;
  }
  try {
    return ext.isActive ? ext.exports : await ext.activate();
  } catch {
    return undefined;
  }
}

/** The Python extension's active interpreter for ``resource``, if it has one. */
async function activeInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const api = await pythonApi();
  const envs = api?.environments;
  if (envs) {
    const active = envs.getActiveEnvironmentPath(resource);
    if (active) {
      const env = await envs.resolveEnvironment(active);
      const exe = env?.executable.uri?.fsPath;
      if (exe) {
        return exe;
      }
    }
  }
  const legacy = api?.settings?.getExecutionDetails?.(resource).execCommand;
  return legacy && legacy.length > 0 ? legacy[0] : undefined;
}

export interface Interpreter {
  path: string;
  source: "setting" | "python extension" | "default";
}

/** The interpreter to start the server with, and where that choice came from. */
export async function findInterpreter(resource?: vscode.Uri): Promise<Interpreter> {
  const configured = vscode.workspace.getConfiguration("codegraph", resource).get<string>("interpreter", "");
  if (configured.trim()) {
    return { path: substitute(configured.trim(), resource), source: "setting" };
  }
  const active = await activeInterpreter(resource);
  if (active) {
    return { path: active, source: "python extension" };
  }
  return { path: defaultInterpreter(), source: "default" };
}

/** Calls ``listener`` when the Python extension's active interpreter changes (if it is installed). */
export async function onInterpreterChange(listener: () => void): Promise<vscode.Disposable | undefined> {
  const event = (await pythonApi())?.environments?.onDidChangeActiveEnvironmentPath;
  return event ? event(() => listener()) : undefined;
}

/** Expands `${workspaceFolder}` and `~` in a configured path. */
function substitute(value: string, resource?: vscode.Uri): string {
  const folder = resource
    ? vscode.workspace.getWorkspaceFolder(resource)
    : vscode.workspace.workspaceFolders?.[0];
  let out = value.replace(/\$\{workspaceFolder\}/g, folder?.uri.fsPath ?? "");
  if (out.startsWith("~/")) {
    out = (process.env.HOME ?? process.env.USERPROFILE ?? "~") + out.slice(1);
  }
  return out;
}
