/**
 * How the extension starts the codegraph language server, and what it sends it.
 *
 * This module does not import `vscode`, so the node tests load it too and start the
 * server exactly the way the extension does: the launch arguments cannot drift apart.
 * The settings follow the python-tools-extension-template: `codegraph.path` (an
 * executable, and arguments), `codegraph.interpreter` (an array), `codegraph.importStrategy`
 * and `codegraph.args`.
 */

/** The settings section the server reads (initializationOptions and didChangeConfiguration). */
export const SETTINGS_SECTION = "codegraph";

/** The keys of the `codegraph` section that the server uses; the others are the extension's. */
export const SERVER_SETTING_KEYS = ["enable", "minConfidence", "select", "ignore", "model"] as const;
export type ServerSettingKey = (typeof SERVER_SETTING_KEYS)[number];

/**
 * The settings that choose which program runs: a workspace must not choose them while it is not
 * trusted (package.json lists them under `capabilities.untrustedWorkspaces.restrictedConfigurations`).
 */
export const LAUNCH_SETTING_KEYS = ["path", "interpreter", "importStrategy", "args"] as const;

/**
 * The arguments that follow the interpreter. `-P` keeps the current directory (the workspace) off
 * `sys.path`, so the server cannot import a module of the workspace in place of its own.
 */
export const SERVER_ARGS: readonly string[] = Object.freeze(["-P", "-m", "codegraph", "lsp"]);

export type ImportStrategy = "useBundled" | "fromEnvironment";

export interface LaunchSettings {
  /** `codegraph.path`: an executable (and its first arguments) to run as `<path...> lsp`. */
  path: string[];
  /** `codegraph.interpreter`: the Python (and its first arguments) that runs `-P -m codegraph lsp`. */
  interpreter: string[];
  importStrategy: ImportStrategy;
  /** `codegraph.args`: more arguments for `codegraph lsp` (`--debounce 500` ...). */
  args: string[];
}

export interface ServerCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** The interpreter used when neither the setting nor the Python extension names one. */
export function defaultInterpreter(platform: NodeJS.Platform = process.platform): string {
  return platform === "win32" ? "python" : "python3";
}

/** The environment of the server process: the parent's, with unbuffered UTF-8 standard streams. */
export function serverEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, PYTHONUNBUFFERED: "1", PYTHONIOENCODING: "utf-8" };
}

/** A string or an array of strings from the settings (an old string `interpreter` still works). */
export function stringList(value: unknown): string[] {
  if (typeof value === "string") {
    return value.trim() ? [value.trim()] : [];
  }
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v !== "") : [];
}

/** The launch settings from a getter over the editor's configuration (defaults for what is unset). */
export function launchSettings(get: (key: string) => unknown): LaunchSettings {
  return {
    path: stringList(get("path")),
    interpreter: stringList(get("interpreter")),
    importStrategy: get("importStrategy") === "useBundled" ? "useBundled" : "fromEnvironment",
    args: stringList(get("args")),
  };
}

/**
 * The command line that starts the server: `codegraph.path` when set (`<path...> lsp <args>`), else
 * `<interpreter...> -P -m codegraph lsp <args>`. With `useBundled`, ``bundledLibs`` (the extension's
 * `bundled/libs`) goes first on PYTHONPATH, so the codegraph shipped with the extension is imported.
 */
export function serverCommand(
  interpreter: string[] | string,
  settings: Partial<LaunchSettings> = {},
  base: NodeJS.ProcessEnv = process.env,
  bundledLibs?: string,
): ServerCommand {
  const extra = settings.args ?? [];
  const env = serverEnv(base);
  if (settings.path && settings.path.length > 0) {
    return { command: settings.path[0], args: [...settings.path.slice(1), "lsp", ...extra], env };
  }
  const python = typeof interpreter === "string" ? [interpreter] : interpreter;
  if (settings.importStrategy === "useBundled" && bundledLibs) {
    env.PYTHONPATH = base.PYTHONPATH ? `${bundledLibs}${pathSeparator()}${base.PYTHONPATH}` : bundledLibs;
  }
  return { command: python[0], args: [...python.slice(1), ...SERVER_ARGS, ...extra], env };
}

function pathSeparator(): string {
  return process.platform === "win32" ? ";" : ":";
}

/** Where a setting's value comes from (`WorkspaceConfiguration.inspect`, without the vscode types). */
export interface SettingOrigin {
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/**
 * Why the server must not start in an untrusted workspace, or undefined when it may: a program or
 * interpreter chosen by the workspace's own settings would run code the user has not trusted.
 */
export function untrustedLaunch(trusted: boolean, origins: Record<string, SettingOrigin | undefined>): string | undefined {
  if (trusted) {
    return undefined;
  }
  const chosen = Object.entries(origins)
    .filter(([, o]) => o && (o.workspaceValue !== undefined || o.workspaceFolderValue !== undefined))
    .map(([key]) => `${SETTINGS_SECTION}.${key}`);
  if (chosen.length === 0) {
    return undefined;
  }
  return (
    `codegraph: this workspace is not trusted, and its settings choose the program to run (${chosen.join(", ")}); ` +
    "the server is not started. Trust the workspace, or set them in your user settings."
  );
}

/**
 * The `codegraph` settings object the server expects (design §4), from a getter over the
 * editor's configuration. Unset values (null / undefined) are left out, so the
 * project's `[tool.codegraph]` or the defaults apply.
 */
export function serverSettings(get: (key: ServerSettingKey) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SERVER_SETTING_KEYS) {
    const value = get(key);
    if (value !== null && value !== undefined && value !== "") {
      out[key] = value;
    }
  }
  return out;
}

/** initializationOptions: the settings under the `codegraph` key. */
export function initializationOptions(
  get: (key: ServerSettingKey) => unknown,
): Record<string, Record<string, unknown>> {
  return { [SETTINGS_SECTION]: serverSettings(get) };
}
