import { describe, expect, it } from 'vitest'
import {
  Agent,
  FileSessionRepository,
  type Message,
  NullConversationManager,
  RepositorySessionManager,
  type SessionRepository,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { runTether } from '../support/cli-run.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const prompts = (messages: Message[]) =>
  messages.flatMap((message) =>
    message.role === 'user'
      ? message.content.flatMap((block) => (block.type === 'text' ? [block.text] : []))
      : [],
  )

function agentOn(repository: SessionRepository): Agent {
  return new Agent({
    model: new ScriptedModel({ fallback: { text: 'ok' } }),
    conversationManager: new NullConversationManager(),
    sessionManager: new RepositorySessionManager({ sessionId: 'chat', repository }),
  })
}

describe('a session deleted by another process while an app keeps its repository open', () => {
  const tempDirectory = useTempDirectories()

  it('the app goes on: the running agent and a new one start the session afresh, and it lists', async () => {
    const directory = await tempDirectory()
    // One repository for the life of the app, as a server would keep it.
    const repository = new FileSessionRepository({ directory })
    const running = agentOn(repository)
    await running.run('before the delete')

    const deleted = await runTether(['sessions', 'delete', 'chat', '--store', directory])
    expect(deleted.stderr).toBe('')
    expect(deleted.code).toBe(0)

    // The agent that was running sees the session is gone and starts from what is there now.
    await running.run('after the delete')
    expect(prompts(running.messages)).toEqual(['after the delete'])

    // A new conversation under the same ID in the same app, then what another process sees.
    const again = agentOn(repository)
    await again.run('a new conversation')
    const fresh = agentOn(new FileSessionRepository({ directory }))
    await fresh.initialize()
    expect(prompts(fresh.messages)).toEqual(['after the delete', 'a new conversation'])
    expect((await repository.listSessions()).sessions.map((session) => session.sessionId)).toEqual(['chat'])
  })
})
