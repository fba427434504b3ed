import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { FileSessionRepository } from '../../src/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const worker = join(import.meta.dirname, '../support/create-sessions-worker.ts')
const RACERS = 4
const SESSIONS = 100

const tempDirectory = useTempDirectories()

// Several processes opening one new session at once: each may find the database file another has
// just created and not yet initialized, or initialized a moment ago. None of them may see that as
// damage or fail; every session ends up with one message from each racer.
it(`${RACERS} processes creating the same ${SESSIONS} new sessions at once all succeed`, async () => {
  const directory = await tempDirectory()
  const racers = Array.from({ length: RACERS }, () =>
    spawn(process.execPath, [worker, directory, String(SESSIONS)], { stdio: ['pipe', 'pipe', 'pipe'] }),
  )
  const outputs = racers.map((child) => {
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    const ready = new Promise<void>((resolve) => {
      const check = () => (stdout.includes('ready\n') ? resolve() : setTimeout(check, 5))
      check()
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    return { child, ready, exited, output: () => ({ stdout, stderr }) }
  })
  await Promise.all(outputs.map((racer) => racer.ready))
  for (const racer of outputs) racer.child.stdin.write('go\n')
  const codes = await Promise.all(outputs.map((racer) => racer.exited))
  for (const [i, code] of codes.entries()) {
    const { stdout, stderr } = outputs[i]?.output() ?? { stdout: '', stderr: '' }
    expect(
      `${stdout
        .split('\n')
        .filter((line) => line.startsWith('failed'))
        .join('\n')}${stderr}`,
    ).toBe('')
    expect(code).toBe(0)
  }
  const repository = new FileSessionRepository({ directory })
  for (let i = 0; i < SESSIONS; i++) {
    expect(await repository.countMessages({ sessionId: `race-${i}`, agentId: 'default' })).toBe(RACERS)
  }
})
