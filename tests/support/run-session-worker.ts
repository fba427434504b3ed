import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const worker = fileURLToPath(new URL('./session-worker.ts', import.meta.url))

/** Where a worker's session lives. */
export type WorkerStore =
  | { kind: 'file'; directory: string }
  | { kind: 's3'; endpoint: string; bucket: string; prefix: string }

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
  args: { store: WorkerStore; sessionId: string; label: string; turns: number; withTools: boolean },
  options: { killAfterMs?: number } = {},
): Promise<WorkerOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        worker,
        JSON.stringify(args.store),
        args.sessionId,
        args.label,
        String(args.turns),
        args.withTools ? '1' : '0',
      ],
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

/** Runs a worker to completion; returns the JSON of every message it added, in its order. */
export async function runWorkerToCompletion(args: Parameters<typeof runSessionWorker>[0]): Promise<string[]> {
  const outcome = await runSessionWorker(args)
  if (outcome.code !== 0) throw new Error(`worker ${args.label} failed (${outcome.code}): ${outcome.stderr}`)
  return [...outcome.stdout.matchAll(/^added (.*)$/gm)].map((match) => match[1] as string)
}
