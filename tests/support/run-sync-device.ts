import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Message } from '../../src/index.ts'
import type { DeviceArgs } from './sync-device.ts'

const script = fileURLToPath(new URL('./sync-device.ts', import.meta.url))

export interface DeviceOutcome {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs tests/support/sync-device.ts in a child process. `killWhen` is checked on every chunk of
 * output; when it returns a delay, the device is killed with SIGKILL that long after (e.g. a few
 * ms after it printed `syncing`: a kill -9 in the middle of a sync).
 */
export function runDevice(
  args: Partial<DeviceArgs> & Pick<DeviceArgs, 'directory' | 'endpoint' | 'bucket' | 'sessionId' | 'label'>,
  options: { killWhen?: (stdout: string) => number | undefined } = {},
): Promise<DeviceOutcome> {
  const full: DeviceArgs = {
    firstTurn: 0,
    turns: 0,
    withTools: true,
    printContext: false,
    sync: false,
    ...args,
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(full)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
      const delay = timer === undefined ? options.killWhen?.(stdout) : undefined
      if (delay !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), delay)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Runs a device and fails with its stderr unless it exited cleanly. */
export async function runDeviceOk(...params: Parameters<typeof runDevice>): Promise<DeviceOutcome> {
  const outcome = await runDevice(...params)
  if (outcome.code !== 0)
    throw new Error(`device ${params[0].label} failed (${outcome.code}): ${outcome.stderr}`)
  return outcome
}

export const acknowledged = (stdout: string): string[] =>
  [...stdout.matchAll(/^done (\S+) (\d+)$/gm)].map((match) => `${match[1]} turn ${match[2]}`)

export const contextOf = (stdout: string): Message[] =>
  [...stdout.matchAll(/^context (.*)$/gm)].map((match) => JSON.parse(match[1] as string) as Message)

export const syncedLine = (stdout: string): string | undefined => /^synced (.*)$/m.exec(stdout)?.[1]
