/**
 * How the extension starts the codegraph language server, and what it sends it.
 *
 * This module does not import `vscode`, so the node tests load it too and start the
 * server exactly the way the extension does: the launch arguments cannot drift apart.
 */

/** The settings section the server reads (initializationOptions and didChangeConfiguration). */
export const SETTINGS_SECTION = "codegraph";

/** The keys of the `codegraph` section that the server uses; the others are the extension's. */
export const SERVER_SETTING_KEYS = ["enable", "minConfidence", "select", "ignore", "model"] as const;
export type ServerSettingKey = (typeof SERVER_SETTING_KEYS)[number];

/** The arguments that follow the interpreter: `python -m codegraph lsp` serves LSP on stdio. */
export const SERVER_ARGS: readonly string[] = Object.freeze(["-m", "codegraph", "lsp"]);

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

/** The command line that starts the server with ``interpreter``. */
export function serverCommand(interpreter: string, base: NodeJS.ProcessEnv = process.env): ServerCommand {
  return { command: interpreter, args: [...SERVER_ARGS], env: serverEnv(base) };
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
