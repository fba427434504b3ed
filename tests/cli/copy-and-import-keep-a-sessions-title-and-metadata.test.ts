import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runTether, tetherJson } from '../support/cli-run.ts'
import { fileStore, seedChat } from '../support/cli-seed-sessions.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

describe('tether sessions copy and import', () => {
  const tempDirectory = useTempDirectories()

  it('carry the title and metadata an app gave a session', async () => {
    const source = await tempDirectory()
    await seedChat(fileStore(source), 'user-1', 1)
    await fileStore(source).updateSession({
      sessionId: 'user-1',
      title: 'Trip to Lisbon',
      metadata: { owner: 'u-42', tags: ['travel'] },
    })

    const copies = await tempDirectory()
    const copied = await runTether([
      'sessions',
      'copy',
      'user-1',
      '--store',
      `file:${source}`,
      '--to',
      `file:${copies}`,
    ])
    expect(copied.code).toBe(0)

    const file = join(await tempDirectory(), 'user-1-export.json')
    await tetherJson(['sessions', 'export', 'user-1', '--store', `file:${source}`, '--output', file])
    const imports = await tempDirectory()
    const imported = await runTether(['sessions', 'import', file, '--store', `file:${imports}`])
    expect(imported.code).toBe(0)

    for (const directory of [copies, imports]) {
      const record = await fileStore(directory).readSession({ sessionId: 'user-1' })
      expect([record?.title, record?.metadata]).toEqual([
        'Trip to Lisbon',
        { owner: 'u-42', tags: ['travel'] },
      ])
      const listed = await tetherJson<{
        sessions: { sessionId: string; title?: string; messages: number }[]
      }>(['sessions', 'list', '--store', `file:${directory}`])
      expect(listed.sessions).toMatchObject([{ sessionId: 'user-1', title: 'Trip to Lisbon', messages: 2 }])
    }
  })
})
