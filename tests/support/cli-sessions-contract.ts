import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { SessionRepository } from '../../src/session/session-repository.ts'
import { runTether, tetherJson } from './cli-run.ts'
import { seedChat, seedInterruptedToolCall, seedToolConversation } from './cli-seed-sessions.ts'
import { useTempDirectories } from './temp-directory.ts'

/** A store the `sessions` commands run against: the flags that name it and a repository on it. */
export interface StoreUnderTest {
  /** `--store ...` (and `--endpoint ...` for S3). */
  args: string[]
  /** The same store as a copy destination: `--to ...` (and `--to-endpoint ...`). */
  toArgs: string[]
  /** How the CLI names the store in its output. */
  label: string
  repository: SessionRepository
  /** Extra environment for the CLI (credentials, region). */
  env?: Record<string, string>
  /** The coarsest clock the store orders activity by (S3 stamps objects to the second). */
  clockResolutionMs?: number
}

interface ListOutput {
  store: string
  sessions: { sessionId: string; title?: string; lastActive: string; agents: number; messages: number }[]
}
interface ShowOutput {
  sessionId: string
  agents: { agentId: string; messages: { index: number; role: string; content: { type: string }[] }[] }[]
}
interface VerifyOutput {
  checked: number
  bad: number
  sessions: { sessionId: string; status: string; findings: { kind: string; index: number }[] }[]
}

/**
 * Every `sessions` subcommand against one kind of store, driven through the real bin with `--json`
 * output parsed and checked. Run for the file store and for S3.
 */
export function sessionsCommandsContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`tether sessions on ${name}`, () => {
    const tempDirectory = useTempDirectories()
    const json = <T>(store: StoreUnderTest, args: string[]) =>
      tetherJson<T>([...args, ...store.args], store.env ? { env: store.env } : {})
    const run = (store: StoreUnderTest, args: string[], input?: string) =>
      runTether([...args, ...store.args], {
        ...(store.env ? { env: store.env } : {}),
        ...(input ? { input } : {}),
      })

    it('list reports each session with its agents and message count, as JSON and as a table', async () => {
      const store = await open()
      await seedToolConversation(store.repository, 'user-123')
      await seedChat(store.repository, 'user-7', 3)
      const listed = await json<ListOutput>(store, ['sessions', 'list'])
      expect(listed.store).toBe(store.label)
      expect(
        listed.sessions.map(({ sessionId, agents, messages }) => ({ sessionId, agents, messages })),
      ).toEqual([
        // Most recently active first: user-7 was written last.
        { sessionId: 'user-7', agents: 1, messages: 6 },
        { sessionId: 'user-123', agents: 1, messages: 4 },
      ])
      const table = await run(store, ['sessions', 'list'])
      expect(table.stdout.split('\n')[0]).toMatch(/^SESSION\s+MESSAGES\s+AGENTS\s+LAST ACTIVE$/)
      expect(table.stdout).toMatch(/^user-7\s+6\s+1\s+\d{4}-/m)
      expect(table.stdout).toContain(`2 sessions in ${store.label}`)
    })

    it('list shows the title an app gave a session and when it was last active, most recent first', async () => {
      const store = await open()
      // user-2 first, user-1 last: listed by name, or by when they were written, user-2 would come second.
      await seedChat(store.repository, 'user-2', 1)
      await seedChat(store.repository, 'user-1', 1)
      await new Promise((resolve) => setTimeout(resolve, (store.clockResolutionMs ?? 0) + 100))
      const before = new Date().toISOString()
      await store.repository.updateSession({
        sessionId: 'user-2',
        title: 'Trip to Lisbon',
        metadata: { owner: 'u-42' },
      })
      const listed = await json<ListOutput>(store, ['sessions', 'list'])
      expect(listed.sessions.map(({ sessionId, title }) => [sessionId, title])).toEqual([
        ['user-2', 'Trip to Lisbon'],
        ['user-1', undefined],
      ])
      expect((listed.sessions[0]?.lastActive ?? '') >= before).toBe(true)
      const table = await run(store, ['sessions', 'list'])
      expect(table.stdout.split('\n')[0]).toMatch(/^SESSION\s+TITLE\s+MESSAGES\s+AGENTS\s+LAST ACTIVE$/)
      expect(table.stdout).toMatch(/^user-2\s+Trip to Lisbon\s+2\s+1\s+\d{4}-/m)
    })

    it('show gives every message with its role, and marks tool calls and results', async () => {
      const store = await open()
      await seedToolConversation(store.repository, 'user-123')
      const shown = await json<ShowOutput>(store, ['sessions', 'show', 'user-123'])
      const messages = shown.agents[0]?.messages ?? []
      expect(
        messages.map((message) => [message.index, message.role, message.content.map((block) => block.type)]),
      ).toEqual([
        [0, 'user', ['text']],
        [1, 'assistant', ['toolUse']],
        [2, 'user', ['toolResult']],
        [3, 'assistant', ['text']],
      ])
      const text = (await run(store, ['sessions', 'show', 'user-123'])).stdout
      expect(text).toContain('agent default: 4 messages, context window from #0')
      expect(text).toContain('#1  assistant\n    -> tool call add {"a":2,"b":3} [call_1]')
      expect(text).toContain('#2  user\n    <- tool result [call_1] success: {"sum":5}')
      expect(text).toContain('#3  assistant\n    2 + 3 = 5.')
    })

    it('export then import, as JSON and as JSONL, reproduces the session in another store', async () => {
      const store = await open()
      await seedToolConversation(store.repository, 'user-123')
      const before = await json<ShowOutput>(store, ['sessions', 'show', 'user-123'])
      for (const format of ['json', 'jsonl']) {
        const exported = await run(store, ['sessions', 'export', 'user-123', '--format', format])
        expect(exported.code).toBe(0)
        const firstLine = JSON.parse(
          format === 'jsonl' ? (exported.stdout.split('\n')[0] ?? '') : exported.stdout,
        )
        expect(firstLine).toMatchObject({ format: 'tether-session', schemaVersion: 1 })
        const backup = `file:${await tempDirectory()}`
        const imported = await tetherJson<{ sessionId: string; messages: number }>(
          ['sessions', 'import', '--store', backup],
          { input: exported.stdout },
        )
        expect(imported).toMatchObject({ sessionId: 'user-123', messages: 4 })
        const after = await tetherJson<ShowOutput>(['sessions', 'show', 'user-123', '--store', backup])
        expect(after.agents).toEqual(
          before.agents.map((agent) => ({ ...agent, messages: agent.messages.map(withoutTimes(after)) })),
        )
      }
      // ...and into the store under test, from a file.
      const file = join(await tempDirectory(), 'user-123.jsonl')
      await writeFile(
        file,
        (await run(store, ['sessions', 'export', 'user-123', '--format', 'jsonl'])).stdout,
      )
      await store.repository.deleteSession({ sessionId: 'user-123' })
      await json(store, ['sessions', 'import', file])
      expect(
        (await json<ShowOutput>(store, ['sessions', 'show', 'user-123'])).agents[0]?.messages,
      ).toHaveLength(4)
    })

    it('import refuses to overwrite an existing session unless --replace', async () => {
      const store = await open()
      await seedChat(store.repository, 'user-7', 1)
      const exported = (await run(store, ['sessions', 'export', 'user-7'])).stdout
      await seedChat(store.repository, 'user-7', 1)
      const refused = await run(store, ['sessions', 'import'], exported)
      expect(refused.code).toBe(1)
      expect(refused.stderr).toBe(
        `tether: Session "user-7" already exists in ${store.label}; pass --replace to overwrite it.\n`,
      )
      const replaced = await run(store, ['sessions', 'import', '--replace', '--json'], exported)
      expect(JSON.parse(replaced.stdout)).toMatchObject({ sessionId: 'user-7', messages: 2 })
      expect(await store.repository.countMessages({ sessionId: 'user-7', agentId: 'default' })).toBe(2)
    })

    it('delete removes a session; deleting one that is not there exits 1 and says where it looked', async () => {
      const store = await open()
      await seedChat(store.repository, 'user-7', 1)
      expect(await json(store, ['sessions', 'delete', 'user-7'])).toEqual({
        sessionId: 'user-7',
        store: store.label,
        deleted: true,
      })
      expect(await store.repository.readSession({ sessionId: 'user-7' })).toBeNull()
      const again = await run(store, ['sessions', 'delete', 'user-7'])
      expect(again.code).toBe(1)
      expect(again.stderr).toContain(`tether: No session "user-7" in ${store.label}`)
    })

    it('verify exits 3 naming a damaged session; repair --dry-run writes nothing; repair fixes it', async () => {
      const store = await open()
      await seedChat(store.repository, 'fine', 2)
      await seedInterruptedToolCall(store.repository, 'crashed')
      const verified = await run(store, ['sessions', 'verify', '--json'])
      expect(verified.code).toBe(3)
      const report = JSON.parse(verified.stdout) as VerifyOutput
      expect(report).toMatchObject({ checked: 2, bad: 1 })
      expect(report.sessions.map(({ sessionId, status }) => [sessionId, status])).toEqual([
        ['crashed', 'damaged'],
        ['fine', 'ok'],
      ])
      expect((await run(store, ['sessions', 'verify'])).stdout).toMatch(
        /^crashed\s+damaged\s+#1 interrupted-tool-use$/m,
      )

      const dryRun = await json<{
        dryRun: boolean
        agents: { repairs: { kind: string; written: boolean }[] }[]
      }>(store, ['sessions', 'repair', 'crashed', '--dry-run'])
      expect(dryRun.agents[0]?.repairs).toEqual([
        expect.objectContaining({ kind: 'interrupted-tool-use', written: false }),
      ])
      expect(await store.repository.countMessages({ sessionId: 'crashed', agentId: 'default' })).toBe(2)

      const repaired = await run(store, ['sessions', 'repair', 'crashed'])
      expect(repaired.stdout).toContain('session crashed: repaired 1 problem')
      expect(await store.repository.countMessages({ sessionId: 'crashed', agentId: 'default' })).toBe(3)
      const after = await run(store, ['sessions', 'verify'])
      expect(after.code).toBe(0)
      expect(after.stdout).toBe(`checked 2 sessions in ${store.label}: 2 ok, 0 damaged\n`)
    })

    it('copy --all backs every session up to a file store, and copy ID copies one back', async () => {
      const store = await open()
      await seedToolConversation(store.repository, 'user-123')
      await seedChat(store.repository, 'user-7', 2)
      const backup = `file:${await tempDirectory()}`
      const copied = await json<{ copied: { sessionId: string; messages: number }[]; failed: unknown[] }>(
        store,
        ['sessions', 'copy', '--all', '--to', backup],
      )
      // In the order the store lists them (a file store: the most recently active first).
      expect(copied.copied.map(({ sessionId, messages }) => [sessionId, messages]).sort()).toEqual([
        ['user-123', 4],
        ['user-7', 4],
      ])
      expect(copied.failed).toEqual([])
      const original = await json<ShowOutput>(store, ['sessions', 'show', 'user-123'])
      const inBackup = await tetherJson<ShowOutput>(['sessions', 'show', 'user-123', '--store', backup])
      expect(inBackup.agents).toEqual(
        original.agents.map((agent) => ({ ...agent, messages: agent.messages.map(withoutTimes(inBackup)) })),
      )

      await store.repository.deleteSession({ sessionId: 'user-7' })
      const back = await runTether(['sessions', 'copy', 'user-7', '--store', backup, ...store.toArgs], {
        ...(store.env ? { env: { ...store.env } } : {}),
      })
      expect(back.stdout).toBe(`copied 1 session (4 messages) from ${backup} to ${store.label}\n`)
      expect(await store.repository.countMessages({ sessionId: 'user-7', agentId: 'default' })).toBe(4)
    })
  })
}

/** Timestamps are the store's own: a copy keeps the content and order, and gets new times. */
function withoutTimes(target: ShowOutput) {
  return (message: ShowOutput['agents'][number]['messages'][number], position: number) => ({
    ...message,
    createdAt: (target.agents[0]?.messages[position] as { createdAt?: string } | undefined)?.createdAt,
  })
}
