import { readdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import { FileSessionRepository } from '../../src/index.ts'
import { runTether, startTether } from '../support/cli-run.ts'
import { seedChat } from '../support/cli-seed-sessions.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

/** An export of `count` messages for session `id`, built from a real one-turn export. */
async function bigExport(template: string, count: number): Promise<string> {
  const document = JSON.parse(template) as {
    agents: { messages: { index: number; message: unknown }[] }[]
  }
  const agent = document.agents[0]
  const [first, second] = agent?.messages ?? []
  if (!agent || !first || !second) throw new Error('template needs two messages')
  agent.messages = Array.from({ length: count }, (_, index) => ({
    ...(index % 2 === 0 ? first : second),
    index,
  }))
  return JSON.stringify(document)
}

/** Messages committed so far in the session database(s) under `directory` (0 while there is none). */
async function countMessages(directory: string): Promise<number> {
  const entries = await readdir(directory, { recursive: true }).catch(() => [] as string[])
  let count = 0
  for (const name of entries.filter((entry) => entry.endsWith('session.db'))) {
    try {
      // Read-only, beside the importing process (WAL mode lets a reader in while it writes).
      const db = new DatabaseSync(join(directory, name), { readOnly: true })
      try {
        const row = db.prepare('SELECT count(*) AS n FROM messages WHERE idx < ?').get(2 ** 53 - 1)
        count += Number(row?.n ?? 0)
      } finally {
        db.close()
      }
    } catch {
      // Not created whole yet, or busy for a moment: counted at the next poll.
    }
  }
  return count
}

describe('--replace changes the destination only once the new copy is complete', () => {
  const tempDirectory = useTempDirectories()

  it('import --replace killed half way (as when the disk fills) leaves the original session whole', async () => {
    const directory = await tempDirectory()
    await seedChat(new FileSessionRepository({ directory }), 'user-7', 6) // the original: 12 messages
    const flag = `file:${directory}`
    const before = await runTether(['sessions', 'show', 'user-7', '--store', flag])
    const source = await tempDirectory()
    await seedChat(new FileSessionRepository({ directory: source }), 'user-7', 1)
    const template = (await runTether(['sessions', 'export', 'user-7', '--store', `file:${source}`])).stdout
    const file = join(await tempDirectory(), 'big.json')
    await writeFile(file, await bigExport(template, 600))

    const running = startTether(['sessions', 'import', file, '--replace', '--store', flag])
    // Kill it once the new copy is well under way (messages are committed in its staging folder).
    for (;;) {
      const staging = (await readdir(directory)).find((name) => name.startsWith('.staging-'))
      if (staging && (await countMessages(join(directory, staging))) > 100) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    running.child.kill('SIGKILL')
    await running.finished

    const after = await runTether(['sessions', 'show', 'user-7', '--store', flag])
    expect(after.code).toBe(0)
    expect(after.stdout).toBe(before.stdout)
    expect(after.stdout).toContain('agent default: 12 messages')
    expect((await runTether(['sessions', 'list', '--store', flag, '--json'])).stdout).not.toContain('staging')

    // Run to completion, the replace swaps in the whole new copy and leaves nothing hidden behind.
    const done = await runTether(['sessions', 'import', file, '--replace', '--store', flag], {
      timeoutMs: 120_000,
    })
    expect(done.code, done.stderr).toBe(0)
    expect(done.stdout).toContain('imported session user-7 (600 messages')
    const shown = await runTether(['sessions', 'show', 'user-7', '--store', flag, '--json'])
    const data = JSON.parse(shown.stdout) as { agents: { messages: unknown[] }[] }
    expect(data.agents[0]?.messages).toHaveLength(600)
    expect((await readdir(directory)).filter((name) => name.startsWith('.replaced-'))).toEqual([])
  }, 120_000)

  it('copy --replace onto an existing session swaps in the complete copy', async () => {
    const from = await tempDirectory()
    const to = await tempDirectory()
    await seedChat(new FileSessionRepository({ directory: from }), 'shared', 3)
    await seedChat(new FileSessionRepository({ directory: to }), 'shared', 1)
    const copyArgs = ['sessions', 'copy', 'shared', '--store', `file:${from}`, '--to', `file:${to}`]
    const refused = await runTether(copyArgs)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('pass --replace to overwrite it')
    const copy = await runTether([...copyArgs, '--replace'])
    expect(copy.code, copy.stderr).toBe(0)
    const shown = await runTether(['sessions', 'show', 'shared', '--store', `file:${to}`])
    expect(shown.stdout).toContain('agent default: 6 messages')
    expect(await readdir(to)).toEqual(['shared'])
    expect(await readdir(join(to, 'shared'))).toContain('session.db')
    const record = await new FileSessionRepository({ directory: to }).readSession({ sessionId: 'shared' })
    expect(record?.sessionId).toBe('shared')
  })

  it('a crash between the two renames of a swap: verify finds the previous copy and says how to put it back', async () => {
    const directory = await tempDirectory()
    await seedChat(new FileSessionRepository({ directory }), 'user-7', 1)
    // Where the old copy waits while the new one is renamed into place.
    const aside = join(directory, '.replaced-user-7-4242-1795566463354')
    await rename(join(directory, 'user-7'), aside)
    const verify = await runTether(['sessions', 'verify', '--store', `file:${directory}`])
    expect(verify.code).toBe(3)
    expect(verify.stdout).toMatch(
      /^user-7\s+leftover\s+a --replace was interrupted; the previous copy is at .*\.replaced-user-7-4242-1795566463354: mv it to .*user-7$/m,
    )
    await rename(aside, join(directory, 'user-7'))
    expect((await runTether(['sessions', 'verify', '--store', `file:${directory}`])).code).toBe(0)
  })
})
