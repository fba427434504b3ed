import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The real bin, run from source: Node 24 strips the types itself. */
export const TETHER_BIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface TetherRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface TetherRunOptions {
  /** Added to a clean environment (no provider keys, no TETHER_STORE, no AWS settings from the host). */
  env?: Record<string, string>
  /** Written to stdin, which is then closed (a pipe, so the CLI sees non-TTY input). */
  input?: string
  cwd?: string
  timeoutMs?: number
}

const HOST_SETTINGS = /^(OPENAI_|ANTHROPIC_|AWS_|TETHER_)/

/** The environment a CLI test starts from: the host's, minus anything that would pick a model or store. */
export function cleanEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !HOST_SETTINGS.test(name)) env[name] = value
  }
  return { ...env, ...extra }
}

/** Runs `tether ...args` in a child process and collects its output and exit code. */
export function runTether(args: string[], options: TetherRunOptions = {}): Promise<TetherRun> {
  const child = spawn(process.execPath, [TETHER_BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: cleanEnvironment(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  child.stdin.end(options.input ?? '')
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Runs a command that should succeed with `--json` and returns its parsed output. */
export async function tetherJson<T>(args: string[], options: TetherRunOptions = {}): Promise<T> {
  const run = await runTether([...args, '--json'], options)
  if (run.code !== 0) throw new Error(`tether ${args.join(' ')} exited ${run.code}: ${run.stderr}`)
  return JSON.parse(run.stdout) as T
}
