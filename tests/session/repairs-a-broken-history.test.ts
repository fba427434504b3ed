import { describe, expect, it } from 'vitest'
import { modelView } from '../../src/agent/model-view.ts'
import {
  Agent,
  FileSessionRepository,
  type Message,
  type RepairReport,
  RepositorySessionManager,
  repairSession,
} from '../../src/index.ts'
import { INTERRUPTED_TOOL_TEXT, planHistoryRepair } from '../../src/session/plan-history-repair.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { expectValidForModel } from '../support/valid-history.ts'

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] })
const assistant = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] })
const call = (id: string): Message => ({
  role: 'assistant',
  content: [{ type: 'toolUse', toolUseId: id, name: 'lookup', input: {} }],
})
const result = (id: string, text = 'ok'): Message => ({
  role: 'user',
  content: [{ type: 'toolResult', toolUseId: id, status: 'success', content: [{ type: 'text', text }] }],
})
const entries = (messages: Message[], from = 0) =>
  messages.map((message, i) => ({ index: from + i, message }))
const ref = { sessionId: 'broken', agentId: 'default' }

async function seed(directory: string, messages: Message[]) {
  const repository = new FileSessionRepository({ directory })
  await repository.createSession(ref)
  for (const message of messages) await repository.appendMessage({ ...ref, message })
  return repository
}

async function restore(directory: string) {
  const model = new ScriptedModel({ fallback: { text: 'fine' } })
  const reports: RepairReport[] = []
  const agent = new Agent({
    model,
    sessionManager: new RepositorySessionManager({
      ...ref,
      repository: new FileSessionRepository({ directory }),
    }),
  })
  agent.hooks.on('history-repaired', ({ report }) => {
    reports.push(report)
  })
  await agent.initialize()
  return { agent, model, reports }
}

describe('planning a history repair', () => {
  it('answers a tool call that has no result anywhere with an interrupted error, appended at the tail', () => {
    const plan = planHistoryRepair(entries([user('go'), call('t1')]), {
      windowStart: 0,
      adjustWindowStart: false,
      isTail: true,
    })
    expect(plan.append).toEqual([
      {
        role: 'user',
        content: [
          {
            type: 'toolResult',
            toolUseId: 't1',
            status: 'error',
            content: [{ type: 'text', text: INTERRUPTED_TOOL_TEXT }],
          },
        ],
      },
    ])
    expect(plan.repairs.map((repair) => [repair.kind, repair.written])).toEqual([
      ['interrupted-tool-use', true],
    ])
  })

  it('moves a window that opens on an orphaned tool result to the next prompt, without writing', () => {
    const plan = planHistoryRepair(
      entries([result('t0'), assistant('so'), user('next'), assistant('ok')], 10),
      {
        windowStart: 10,
        adjustWindowStart: true,
        isTail: true,
      },
    )
    expect(plan.windowStart).toBe(12)
    expect(plan.entries.map((entry) => entry.index)).toEqual([12, 13])
    expect(plan.append).toEqual([])
    expect(plan.repairs.map((repair) => [repair.kind, repair.written])).toEqual([
      ['window-start-moved', false],
    ])
  })

  it('reports an interleaved result and consecutive roles without rewriting stored messages', () => {
    const history = [user('a'), call('t1'), user('b'), result('t1'), assistant('done')]
    const plan = planHistoryRepair(entries(history), {
      windowStart: 0,
      adjustWindowStart: true,
      isTail: true,
    })
    expect(plan.append).toEqual([])
    expect(plan.repairs.map((repair) => repair.kind)).toEqual(['displaced-tool-result', 'consecutive-roles'])
    expectValidForModel(history)
  })

  it('does not touch a healthy history', () => {
    const history = [user('a'), call('t1'), result('t1'), assistant('done')]
    const plan = planHistoryRepair(entries(history), {
      windowStart: 0,
      adjustWindowStart: true,
      isTail: true,
    })
    expect(plan).toEqual({ append: [], repairs: [], windowStart: 0, entries: entries(history) })
  })
})

describe('the request view', () => {
  it('places each result after its call, lets the latest result win, and merges same-role turns', () => {
    const interrupted: Message = {
      role: 'user',
      content: [
        {
          type: 'toolResult',
          toolUseId: 't1',
          status: 'error',
          content: [{ type: 'text', text: 'interrupted' }],
        },
      ],
    }
    const view = modelView([
      assistant('stray'),
      user('a'),
      call('t1'),
      interrupted,
      user('b'),
      result('t1', 'real'),
    ])
    expect(view).toEqual([
      user('a'),
      call('t1'),
      {
        role: 'user',
        content: [
          {
            type: 'toolResult',
            toolUseId: 't1',
            status: 'success',
            content: [{ type: 'text', text: 'real' }],
          },
          { type: 'text', text: 'b' },
        ],
      },
    ])
  })
})

describe('restoring a broken history', () => {
  const tempDirectory = useTempDirectories()

  it('writes the interrupted result back, so another process reads the same repaired history', async () => {
    const directory = await tempDirectory()
    await seed(directory, [user('weather?'), call('t1')])
    const { agent, model, reports } = await restore(directory)

    expect(reports).toHaveLength(1)
    expect(reports[0]?.repairs.map((repair) => repair.kind)).toEqual(['interrupted-tool-use'])
    const stored = await new FileSessionRepository({ directory }).readMessages(ref)
    expect(stored.map((record) => record.message)).toEqual(agent.messages)
    expect(JSON.stringify(stored[2]?.message)).toContain(INTERRUPTED_TOOL_TEXT)

    // The next model call is valid, and a second restore finds nothing left to repair.
    await agent.run('and now?')
    expectValidForModel(model.requests[0]?.messages ?? [])
    expect((await restore(directory)).reports).toEqual([])
  })

  it('lets the next prompt join a prompt that was left without a reply', async () => {
    const directory = await tempDirectory()
    await seed(directory, [user('first'), assistant('reply'), user('lost in a crash')])
    const { agent, model, reports } = await restore(directory)
    expect(reports[0]?.repairs.map((repair) => repair.kind)).toEqual(['unanswered-prompt'])
    await agent.run('again')
    const sent = model.requests[0]?.messages ?? []
    expect(sent.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'lost in a crash' },
        { type: 'text', text: 'again' },
      ],
    })
    expectValidForModel(sent)
  })

  it('repairs a whole session on demand, with a dry run that writes nothing', async () => {
    const directory = await tempDirectory()
    const repository = await seed(directory, [
      user('a'),
      call('t1'),
      result('t1'),
      assistant('b'),
      user('c'),
      call('t2'),
    ])
    await repository.writeAgent({ ...ref, state: {}, conversationManagerState: null, windowStart: 4 })

    const dry = await repairSession({ repository, sessionId: ref.sessionId, dryRun: true })
    expect(dry[0]?.repairs.map((repair) => [repair.kind, repair.written])).toEqual([
      ['interrupted-tool-use', false],
    ])
    expect(await repository.countMessages(ref)).toBe(6)

    const done = await repairSession({ repository, sessionId: ref.sessionId })
    expect(done[0]?.repairs.map((repair) => [repair.kind, repair.written])).toEqual([
      ['interrupted-tool-use', true],
    ])
    expect(await repository.countMessages(ref)).toBe(7)
    expect((await repairSession({ repository, sessionId: ref.sessionId }))[0]?.repairs).toEqual([])
  })
})
