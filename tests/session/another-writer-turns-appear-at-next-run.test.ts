import { describe, expect, it } from 'vitest'
import { Agent, FileSessionRepository, type Message, RepositorySessionManager } from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const texts = (messages: Message[]) =>
  messages.flatMap((message) =>
    message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])),
  )

describe('two agents on one session (two processes or devices)', () => {
  const tempDirectory = useTempDirectories()

  it("each sees the other's turns at its next run, and both keep appending to one history", async () => {
    const directory = await tempDirectory()
    const open = (name: string, model: ScriptedModel) =>
      new Agent({
        model,
        sessionManager: new RepositorySessionManager({
          sessionId: 'shared',
          repository: new FileSessionRepository({ directory }),
        }),
        state: { device: name },
      })
    const laptopModel = new ScriptedModel({ fallback: { text: 'laptop reply' } })
    const phoneModel = new ScriptedModel({ fallback: { text: 'phone reply' } })
    const laptop = open('laptop', laptopModel)
    const phone = open('phone', phoneModel)
    await laptop.initialize()
    await phone.initialize()

    await laptop.run('from the laptop')
    await phone.run('from the phone')
    expect(texts(phoneModel.requests[0]?.messages ?? [])).toEqual([
      'from the laptop',
      'laptop reply',
      'from the phone',
    ])
    await laptop.run('laptop again')
    expect(texts(laptopModel.requests[1]?.messages ?? [])).toEqual([
      'from the laptop',
      'laptop reply',
      'from the phone',
      'phone reply',
      'laptop again',
    ])
    const stored = await new FileSessionRepository({ directory }).readMessages({
      sessionId: 'shared',
      agentId: 'default',
    })
    expect(texts(stored.map((record) => record.message))).toEqual(texts(laptop.messages))
  })

  it('a history rewritten under an agent (a sync put another device’s turn first) is read again whole', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const model = new ScriptedModel({ fallback: { text: 'reply' } })
    const agent = new Agent({
      model,
      sessionManager: new RepositorySessionManager({ sessionId: 'shared', repository }),
    })
    await agent.run('mine')
    // What a sync does when another device's turn reached the shared store first: that turn takes
    // our positions and ours moves after it.
    const ref = { sessionId: 'shared', agentId: 'default' }
    const [prompt, reply] = (await repository.readMessages(ref)).map((record) => record.message)
    if (!prompt || !reply) throw new Error('the first turn is not stored')
    await repository.updateMessage({
      ...ref,
      index: 0,
      message: { role: 'user', content: [{ type: 'text', text: 'theirs' }] },
    })
    await repository.updateMessage({
      ...ref,
      index: 1,
      message: { role: 'assistant', content: [{ type: 'text', text: 'their reply' }] },
    })
    await repository.appendMessage({ ...ref, message: prompt })
    await repository.appendMessage({ ...ref, message: reply })

    await agent.run('next')
    expect(texts(model.requests[1]?.messages ?? [])).toEqual([
      'theirs',
      'their reply',
      'mine',
      'reply',
      'next',
    ])
    expect(agent.messages).toEqual((await repository.readMessages(ref)).map((record) => record.message))
  })
})
