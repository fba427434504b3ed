import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const worker = fileURLToPath(new URL('./session-worker.ts', import.meta.url))

export interface WorkerOutcome {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs tests/support/session-worker.ts in a child process (the pinned Node runs the .ts directly)
 * and resolves when it exits. With `killAfterMs`, sends SIGKILL after that long.
 */
export function runSessionWorker(
  args: { directory: string; sessionId: string; label: string; turns: number; withTools: boolean },
  options: { killAfterMs?: number } = {},
): Promise<WorkerOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [worker, args.directory, args.sessionId, args.label, String(args.turns), args.withTools ? '1' : '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    const timer =
      options.killAfterMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}
