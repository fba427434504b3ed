/**
 * An environment variable, or undefined where there is no `process` (browsers, edge runtimes),
 * so provider modules stay importable outside Node.
 */
export function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  const value = env?.[name]?.trim()
  return value === '' ? undefined : value
}
