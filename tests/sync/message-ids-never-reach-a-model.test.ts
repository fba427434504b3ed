import { describe, expect, it } from 'vitest'
import { modelView } from '../../src/agent/model-view.ts'
import { type Message, messageSchema } from '../../src/index.ts'
import { toMessagesBody } from '../../src/models/anthropic/anthropic-request.ts'
import { toConverseBody } from '../../src/models/bedrock/bedrock-request.ts'
import { toChatCompletionsBody } from '../../src/models/openai/openai-request.ts'

const history: Message[] = [
  { id: 'm-1', role: 'user', content: [{ type: 'text', text: 'weather?' }] },
  {
    id: 'm-2',
    role: 'assistant',
    content: [{ type: 'toolUse', toolUseId: 't1', name: 'weather', input: {} }],
  },
  {
    id: 'm-3',
    role: 'user',
    content: [{ type: 'toolResult', toolUseId: 't1', status: 'success', content: [] }],
  },
  { id: 'm-4', role: 'assistant', content: [{ type: 'text', text: 'sunny' }] },
]

describe('message ids', () => {
  it('are kept by the message schema and optional (records without one stay valid)', () => {
    expect(messageSchema.parse(history[0])).toEqual(history[0])
    expect(messageSchema.parse({ role: 'user', content: [] })).toEqual({ role: 'user', content: [] })
  })

  it('never reach a provider request', () => {
    const messages = modelView(history)
    for (const body of [
      toChatCompletionsBody({ messages }),
      toMessagesBody({ messages }),
      toConverseBody({ messages }),
    ]) {
      const text = JSON.stringify(body)
      for (const id of ['m-1', 'm-2', 'm-3', 'm-4']) expect(text).not.toContain(id)
      expect(text).toContain('sunny')
    }
  })
})
