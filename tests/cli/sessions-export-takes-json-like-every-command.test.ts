import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { commandTable } from '../../src/cli/command-table.ts'
import { tetherJson } from '../support/cli-run.ts'
import { fileStore, seedToolConversation } from '../support/cli-seed-sessions.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

describe('tether sessions export --json', () => {
  const tempDirectory = useTempDirectories()

  it('every sessions command declares --json', () => {
    const without = commandTable
      .filter((spec) => spec.name.startsWith('sessions '))
      .filter((spec) => !spec.options.some((option) => option.flags === '--json'))
      .map((spec) => spec.name)
    expect(without).toEqual([])
  })

  it('prints the export document to stdout, and with --output reports what it wrote as JSON', async () => {
    const directory = await tempDirectory()
    await seedToolConversation(fileStore(directory), 'user-123')
    const store = ['--store', `file:${directory}`]

    const document = await tetherJson<{ session: { sessionId: string }; agents: { messages: unknown[] }[] }>([
      'sessions',
      'export',
      'user-123',
      ...store,
    ])
    expect(document.session.sessionId).toBe('user-123')

    const file = join(await tempDirectory(), 'user-123.json')
    const report = await tetherJson<{ exported: { sessionId: string; path: string; messages: number } }>([
      'sessions',
      'export',
      'user-123',
      ...store,
      '--output',
      file,
    ])
    expect(report).toEqual({ exported: { sessionId: 'user-123', format: 'json', path: file, messages: 4 } })
    const written = JSON.parse(await readFile(file, 'utf8')) as typeof document
    expect(written.agents).toEqual(document.agents)
    expect(written.agents[0]?.messages).toHaveLength(4)
  })
})
