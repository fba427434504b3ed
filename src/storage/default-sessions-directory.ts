import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * The per-user data directory for sessions, following each platform's convention:
 * `$XDG_DATA_HOME/tether/sessions` (default `~/.local/share`) on Linux and other Unixes,
 * `~/Library/Application Support/tether/sessions` on macOS, `%APPDATA%\tether\sessions` on Windows.
 * Hand-written rather than taken from `env-paths`, which adds a `-nodejs` suffix and uses the
 * config rather than the data directory on Windows; this is six lines with no dependency.
 */
// Plain types, not NodeJS.ProcessEnv / NodeJS.Platform: the published typings compile without @types/node.
export function defaultSessionsDirectory(
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: string = process.platform,
  home: string = homedir(),
): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'tether', 'sessions')
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'tether', 'sessions')
  const dataHome = env.XDG_DATA_HOME?.startsWith('/') ? env.XDG_DATA_HOME : join(home, '.local', 'share')
  return join(dataHome, 'tether', 'sessions')
}
