import { z } from 'zod'
import { Agent } from '../../agent/agent.ts'
import { SlidingWindowConversationManager } from '../../conversation/sliding-window-conversation-manager.ts'
import { RepositorySessionManager } from '../../session/repository-session-manager.ts'
import { chatLoop } from '../chat-loop.ts'
import { chooseModel, createModel, nameTheServer } from '../choose-model.ts'
import { defineCommand } from '../cli-command.ts'
import { httpUrl, sessionId, storeFlags, wholeNumber } from '../cli-schemas.ts'
import { openStoreFlag } from '../store.ts'
import { writeLines } from '../write-lines.ts'

/** Repairs that changed storage are worth a line at start; notes (a merged prompt) are for `repair --dry-run`. */
export const command = defineCommand({
  input: z.object({
    session: sessionId,
    ...storeFlags,
    provider: z
      .enum(['openai', 'anthropic', 'bedrock'], { error: 'expected openai, anthropic or bedrock' })
      .optional(),
    model: z.string().min(1).optional(),
    baseUrl: httpUrl('http://localhost:11434/v1').optional(),
    window: wholeNumber(2).optional(),
    system: z.string().optional(),
  }),

  async run(input, context) {
    // The model first: a missing configuration should fail before anything touches the store.
    const choice = chooseModel(input, context.env)
    const model = await createModel(choice)
    const store = await openStoreFlag(input, context)
    const sessionManager = new RepositorySessionManager({
      sessionId: input.session,
      repository: store.repository,
    })
    const agent = new Agent({
      model,
      sessionManager,
      ...(input.system === undefined ? {} : { systemPrompt: input.system }),
      ...(input.window === undefined
        ? {}
        : { conversationManager: new SlidingWindowConversationManager({ windowSize: input.window }) }),
    })
    await agent.initialize()

    const stored = await store.repository.countMessages({ sessionId: input.session, agentId: agent.agentId })
    const inContext = agent.messages.length
    const lines = [
      stored === 0
        ? `new session ${input.session} in ${store.label}`
        : `restored ${stored} messages from ${input.session}${inContext < stored ? ` (the last ${inContext} in context)` : ''}`,
    ]
    for (const repair of sessionManager.lastRepairReport?.repairs ?? []) {
      if (!repair.written) continue
      // A damaged agent record is not a message: its index only says where the window now starts.
      const what = repair.kind === 'damaged-agent-record' ? 'the agent record' : `message ${repair.index}`
      lines.push(`repaired ${what}: ${repair.detail}`)
    }
    await writeLines(context.stderr, lines)

    const summary = await chatLoop(agent, context, nameTheServer(choice))
    return { data: { sessionId: input.session, store: store.label, ...summary } }
  },
})
