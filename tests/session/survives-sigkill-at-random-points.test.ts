import { describe, expect, it } from 'vitest'
import {
  Agent,
  FileSessionRepository,
  type Message,
  NullConversationManager,
  type Repair,
  RepositorySessionManager,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { runSessionWorker } from '../support/run-session-worker.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { expectValidForModel } from '../support/valid-history.ts'

const TRIALS = 100
// Independent sessions killed side by side: the trials overlap their waits (spawn, restore, the delay).
const LANES = 4

/**
 * Runs turns with two tool calls each and SIGKILLs the worker at a random point; returns finished
 * turns. One trial in four kills 0-300 ms after the spawn, which often lands during start-up and
 * the restore's own repair; the others kill 0-250 ms after the restore, inside the turns (while
 * writing, streaming or running a tool), however slow the machine is to start a process.
 */
async function runAndKill(
  directory: string,
  sessionId: string,
  label: string,
  trial: number,
): Promise<number[]> {
  const kill =
    trial % 4 === 0 ? { killAfterMs: Math.random() * 300 } : { killAfterReadyMs: Math.random() * 250 }
  const outcome = await runSessionWorker(
    { store: { kind: 'file', directory }, sessionId, label, turns: 100_000, withTools: true },
    kill,
  )
  if (outcome.signal !== 'SIGKILL') {
    throw new Error(
      `worker exited with ${outcome.code} before the kill: ${outcome.stderr} ${outcome.stdout.slice(-300)}`,
    )
  }
  return [...outcome.stdout.matchAll(new RegExp(`^done ${label} (\\d+)$`, 'gm'))].map((match) =>
    Number(match[1]),
  )
}

const textOf = (message: Message) =>
  message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('')

describe('a file session survives SIGKILL at random points', () => {
  const tempDirectory = useTempDirectories()

  it(`restores a valid history with every finished turn after ${TRIALS} kills mid-turn`, {
    timeout: 240_000,
  }, async () => {
    const directory = await tempDirectory()
    const repairs: Repair[] = []
    let finishedTurns = 0

    const lane = async (laneNumber: number) => {
      const sessionId = `crash-lane-${laneNumber}`
      const finished: string[] = []
      for (let trial = laneNumber; trial < TRIALS; trial += LANES) {
        const done = await runAndKill(directory, sessionId, `T${trial}`, trial)
        finishedTurns += done.length
        finished.push(...done.map((turn) => `T${trial} turn ${turn}`))

        // A new process's view: a fresh repository and agent, restoring before any model call.
        const agent = new Agent({
          model: new ScriptedModel(),
          sessionManager: new RepositorySessionManager({
            sessionId,
            repository: new FileSessionRepository({ directory }),
          }),
        })
        agent.hooks.on('history-repaired', ({ report }) => {
          repairs.push(...report.repairs)
        })
        await agent.initialize()
        expectValidForModel(agent.messages)
      }
      // The whole history as a new agent that sends it all restores it: valid for a model, and
      // every turn whose run returned is there.
      const reader = new Agent({
        model: new ScriptedModel(),
        conversationManager: new NullConversationManager(),
        sessionManager: new RepositorySessionManager({
          sessionId,
          repository: new FileSessionRepository({ directory }),
        }),
      })
      await reader.initialize()
      const messages = reader.messages
      const stored = await new FileSessionRepository({ directory }).readMessages({
        sessionId,
        agentId: 'default',
      })
      expect(messages).toEqual(stored.map((record) => record.message))
      expectValidForModel(messages)
      const texts = new Set(messages.map(textOf))
      for (const turn of finished) {
        expect(texts, `prompt of ${turn}`).toContain(turn)
        expect(texts, `reply of ${turn}`).toContain(`reply to ${turn}`)
      }
    }
    await Promise.all(Array.from({ length: LANES }, (_, laneNumber) => lane(laneNumber)))

    // The kills really did interrupt work, and no torn record was ever read back.
    expect(finishedTurns).toBeGreaterThan(0)
    // Kills landed inside tool runs and between a prompt and its reply, and both were repaired.
    const kinds = new Set(repairs.map((repair) => repair.kind))
    expect(kinds).toContain('interrupted-tool-use')
    expect(kinds).toContain('unanswered-prompt')
    expect(repairs.filter((repair) => repair.kind === 'damaged-record')).toEqual([])
  })
})
