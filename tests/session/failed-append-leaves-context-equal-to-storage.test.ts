import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  Agent,
  FileSessionRepository,
  type Message,
  NullConversationManager,
  RepositorySessionManager,
  type SessionRepository,
  StorageError,
  tool,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { expectValidForModel } from '../support/valid-history.ts'

const ref = { sessionId: 's', agentId: 'default' }
const STEPS = ['prompt', 'tool call', 'tool result', 'reply'] as const

/**
 * A real file repository whose `appendMessage` fails once, at the `failAt`-th append after it is
 * armed: before storing (disk full) or after storing (the store applied it, the answer was lost).
 */
function failingOnce(inner: SessionRepository, failAt: number, stored: 'before' | 'after') {
  const state = { armed: false, appends: 0 }
  const failure = () =>
    new StorageError('append a message to', 'the test store', {
      cause: Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }),
    })
  const appendMessage: SessionRepository['appendMessage'] = async (input) => {
    if (!state.armed || ++state.appends !== failAt) return inner.appendMessage(input)
    if (stored === 'after') await inner.appendMessage(input)
    throw failure()
  }
  const repository = new Proxy(inner, {
    get: (target, property) => {
      if (property === 'appendMessage') return appendMessage
      const value = Reflect.get(target, property)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { repository, state }
}

function agentOn(repository: SessionRepository): Agent {
  let calls = 0
  const lookup = tool({
    name: 'lookup',
    description: 'Looks something up',
    inputSchema: z.object({}),
    callback: async () => 'value',
  })
  return new Agent({
    model: new ScriptedModel({
      fallback: (request) => {
        const answered = request.messages.at(-1)?.content.some((block) => block.type === 'toolResult')
        return answered
          ? { text: 'answer' }
          : { toolUses: [{ name: 'lookup', input: {}, toolUseId: `call-${calls++}` }] }
      },
    }),
    tools: [lookup],
    conversationManager: new NullConversationManager(),
    sessionManager: new RepositorySessionManager({ sessionId: 's', repository }),
  })
}

const storedMessages = async (repository: SessionRepository): Promise<Message[]> =>
  (await repository.readMessages(ref)).map((record) => record.message)

describe('an append that fails leaves the context equal to what is stored', () => {
  const tempDirectory = useTempDirectories()

  for (const [position, step] of STEPS.entries()) {
    for (const when of ['before', 'after'] as const) {
      it(`failure at the ${step}, ${when} the store applied it`, async () => {
        const files = new FileSessionRepository({ directory: await tempDirectory() })
        const { repository, state } = failingOnce(files, position + 1, when)
        const agent = agentOn(repository)
        await agent.run('first')
        state.armed = true

        // The run fails with the storage error itself, typed, not wrapped.
        const failed = await agent.run('second').catch((error: unknown) => error)
        expect(failed).toBeInstanceOf(StorageError)
        if (when === 'before') {
          // Nothing the store lacks stays in the context.
          expect(agent.messages).toEqual(await storedMessages(files))
        } else {
          // The store has the message the context dropped: nothing unstored is in the context.
          const stored = await storedMessages(files)
          expect(stored.slice(0, agent.messages.length)).toEqual(agent.messages)
        }

        // The next run starts from what is stored, and a new agent in another process would see
        // exactly what this one has.
        await agent.run('third')
        const fresh = agentOn(files)
        await fresh.initialize()
        expect(fresh.messages).toEqual(agent.messages)
        expect(agent.messages).toEqual(await storedMessages(files))
        expectValidForModel(agent.messages)
        const prompts = agent.messages.flatMap((message) =>
          message.content.flatMap((block) =>
            block.type === 'text' && message.role === 'user' ? [block.text] : [],
          ),
        )
        expect(prompts).toEqual(
          step === 'prompt' && when === 'before' ? ['first', 'third'] : ['first', 'second', 'third'],
        )
      })
    }
  }
})
