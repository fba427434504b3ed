import { type ChildProcess, spawn } from 'node:child_process'
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
  /** Packages the child cannot import, as if they were not installed (see cli-hide-packages.ts). */
  hidePackages?: string[]
}

const HIDE_PACKAGES = fileURLToPath(new URL('./cli-hide-packages.ts', import.meta.url))

const HOST_SETTINGS = /^(OPENAI_|ANTHROPIC_|AWS_|TETHER_)/

/** The environment a CLI test starts from: the host's, minus anything that would pick a model or store. */
export function cleanEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !HOST_SETTINGS.test(name)) env[name] = value
  }
  return { ...env, ...extra }
}

export interface RunningTether {
  child: ChildProcess
  /** The output so far. */
  output(): { stdout: string; stderr: string }
  finished: Promise<TetherRun>
}

/** Starts `tether ...args` in a child process; stdin stays open unless `input` is given. */
export function startTether(args: string[], options: TetherRunOptions = {}): RunningTether {
  const hide = options.hidePackages ?? []
  const preload = hide.length === 0 ? [] : ['--import', HIDE_PACKAGES]
  const child = spawn(process.execPath, [...preload, TETHER_BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: cleanEnvironment({
      ...options.env,
      ...(hide.length === 0 ? {} : { TETHER_TEST_HIDDEN_PACKAGES: hide.join(',') }),
    }),
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
  if (options.input !== undefined) child.stdin.end(options.input)
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
  const finished = new Promise<TetherRun>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
  return { child, output: () => ({ stdout, stderr }), finished }
}

/** Runs `tether ...args` to the end (stdin: `input`, else empty) and collects its output and exit code. */
export function runTether(args: string[], options: TetherRunOptions = {}): Promise<TetherRun> {
  return startTether(args, { ...options, input: options.input ?? '' }).finished
}

/** Polls until `test` passes on the output so far. */
export async function waitForOutput(
  running: RunningTether,
  test: (output: { stdout: string; stderr: string }) => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!test(running.output())) {
    if (Date.now() > deadline)
      throw new Error(`timed out; output so far: ${JSON.stringify(running.output())}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Runs a command that should succeed with `--json` and returns its parsed output. */
export async function tetherJson<T>(args: string[], options: TetherRunOptions = {}): Promise<T> {
  const run = await runTether([...args, '--json'], options)
  if (run.code !== 0) throw new Error(`tether ${args.join(' ')} exited ${run.code}: ${run.stderr}`)
  return JSON.parse(run.stdout) as T
}
