import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const worker = fileURLToPath(new URL('./session-worker.ts', import.meta.url))

/** Where a worker's session lives. */
export type WorkerStore =
  | { kind: 'file'; directory: string }
  | { kind: 's3'; endpoint: string; bucket: string; prefix: string; credentials?: S3Credentials }

/** Keys for an S3 worker's store; s3rver's fixed ones when absent. */
export interface S3Credentials {
  accessKeyId: string
  secretAccessKey: string
}

import type { Message } from '../../src/index.ts'

export interface WorkerOutcome {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

type WorkerArgs = {
  store: WorkerStore
  sessionId: string
  label: string
  turns: number
  withTools: boolean
  /** `null` or `window:<size>`; default the Agent's default window. */
  manager?: string
}

/**
 * Runs tests/support/session-worker.ts in a child process (the pinned Node runs the .ts directly)
 * and resolves when it exits. `killAfterMs` sends SIGKILL that long after the spawn (so a kill can
 * land during start-up and restore); `killAfterReadyMs` that long after the worker has restored
 * (so it lands during turns, however slow the start). `go`, when given, holds the worker after it
 * is ready until the promise resolves, so several workers can start their turns together.
 */
export function runSessionWorker(
  args: WorkerArgs,
  options: {
    killAfterMs?: number
    killAfterReadyMs?: number
    go?: Promise<void>
    onReady?: () => void
    /** Runs the worker under `ulimit -n`, the descriptor limit of a constrained host. */
    maxOpenFiles?: number
  } = {},
): Promise<WorkerOutcome> {
  const limit =
    options.maxOpenFiles === undefined ? [] : ['-c', `ulimit -n ${options.maxOpenFiles} && exec "$0" "$@"`]
  return new Promise((resolve, reject) => {
    const child = spawn(
      limit.length === 0 ? process.execPath : '/bin/sh',
      [
        ...limit,
        ...(limit.length === 0 ? [] : [process.execPath]),
        worker,
        JSON.stringify(args.store),
        args.sessionId,
        args.label,
        String(args.turns),
        args.withTools ? '1' : '0',
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: {
          ...process.env,
          WAIT_FOR_GO: options.go === undefined ? '0' : '1',
          WORKER_MANAGER: args.manager ?? '',
        },
      },
    )
    let stdout = ''
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    const kill = (ms: number) => {
      timer = setTimeout(() => child.kill('SIGKILL'), ms)
    }
    child.stdout.on('data', (chunk: Buffer) => {
      const ready = !stdout.includes('ready\n')
      stdout += chunk
      if (ready && stdout.includes('ready\n')) {
        options.onReady?.()
        if (options.killAfterReadyMs !== undefined) kill(options.killAfterReadyMs)
        void options.go?.then(() => child.stdin.write('go\n'))
      }
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    if (options.killAfterMs !== undefined) kill(options.killAfterMs)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/**
 * Runs workers to completion, all starting their turns at once (after every one has restored);
 * returns the JSON of every message each added.
 */
export async function runWorkersTogether(all: WorkerArgs[]): Promise<string[][]> {
  let ready = 0
  let release: () => void = () => {}
  const go = new Promise<void>((resolve) => {
    release = resolve
  })
  const onReady = () => {
    if (++ready === all.length) release()
  }
  const outcomes = await Promise.all(
    all.map(async (args) => {
      const outcome = await runSessionWorker(args, { go, onReady })
      // A worker that died before it was ready must not leave the others waiting for go forever:
      // they run, and its failure is reported below (this hid a real race as a 60 s timeout).
      if (!outcome.stdout.includes('ready\n')) release()
      return outcome
    }),
  )
  return outcomes.map((outcome, i) => {
    if (outcome.code !== 0)
      throw new Error(`worker ${all[i]?.label} failed (${outcome.code}): ${outcome.stderr}`)
    return [...outcome.stdout.matchAll(/^added (.*)$/gm)].map((match) => match[1] as string)
  })
}

/**
 * What a user sees on opening the session in a new process: a fresh agent, with the given
 * conversation manager, restores it there; resolves with the restored context.
 */
export async function restoreInFreshProcess(
  store: WorkerStore,
  sessionId: string,
  manager = 'null',
  options: { maxOpenFiles?: number } = {},
): Promise<Message[]> {
  const outcome = await runSessionWorker(
    { store, sessionId, label: 'reader', turns: 0, withTools: false, manager },
    options,
  )
  if (outcome.code !== 0) throw new Error(`restoring process failed (${outcome.code}): ${outcome.stderr}`)
  return [...outcome.stdout.matchAll(/^context (.*)$/gm)].map(
    (match) => JSON.parse(match[1] as string) as Message,
  )
}

/** The turns each worker acknowledged (`run` returned), as `<label> turn <n>` prompts. */
export function acknowledgedPrompts(stdout: string): string[] {
  return [...stdout.matchAll(/^done (\S+) (\d+)$/gm)].map((match) => `${match[1]} turn ${match[2]}`)
}
