import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Agent, FileSessionRepository, RepositorySessionManager } from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const SECRET = '4111-1111-1111-1111'

describe('redacting the latest message', () => {
  const tempDirectory = useTempDirectories()

  it('replaces it in context and in storage, leaving the original in no file of the session', async () => {
    const directory = await tempDirectory()
    const repository = new FileSessionRepository({ directory })
    const manager = new RepositorySessionManager({ sessionId: 'pci', repository })
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'Noted.' } }),
      sessionManager: manager,
    })
    // A guardrail: redact a prompt carrying a card number as soon as it is stored.
    agent.hooks.on('message-added', async ({ message }) => {
      if (JSON.stringify(message).includes(SECRET)) {
        await manager.redactLatestMessage({
          role: 'user',
          content: [{ type: 'text', text: '[card number removed]' }],
        })
      }
    })
    await agent.run(`My card is ${SECRET}`)

    expect(JSON.stringify(agent.messages)).not.toContain(SECRET)
    const entries = await readdir(directory, { recursive: true, withFileTypes: true })
    const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
    // The session's database is among the files checked (its write-ahead log too, while it exists).
    expect(files.some((file) => file.endsWith('session.db'))).toBe(true)
    for (const file of files) expect(await readFile(file, 'utf8'), file).not.toContain(SECRET)

    const restored = new Agent({
      model: new ScriptedModel(),
      sessionManager: new RepositorySessionManager({
        sessionId: 'pci',
        repository: new FileSessionRepository({ directory }),
      }),
    })
    await restored.initialize()
    expect(restored.messages[0]).toEqual({
      role: 'user',
      content: [{ type: 'text', text: '[card number removed]' }],
    })
  })
})
