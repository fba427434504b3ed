import type { ContentBlock, Message, ToolResultBlock } from '../messages/message.ts'

export const MISSING_RESULT_TEXT = 'No result was recorded for this tool call.'

/**
 * The messages as sent to the model. `agent.messages` mirrors storage one to one, in the order
 * writers committed (so window offsets never drift); this view makes any such history a valid
 * request for every provider. It is a pure function of the stored history, so every process and
 * device that reads the same history sends the same request.
 *
 * - Leading messages before the first user prompt are dropped (a request opens on the user).
 * - Each tool call is followed by its results. With two writers on one session, a result can be
 *   stored a few messages after its call; the view moves it up. A call whose result is not stored
 *   (yet: another process may still be running the tool) gets an error result in the view only.
 *   If a call has several stored results, the latest wins.
 * - A result whose call is not in the context (it was trimmed away) is left out.
 * - Consecutive messages of one role are merged (e.g. a prompt left unanswered by a crash, then a
 *   new prompt), since Anthropic and Bedrock reject two user turns in a row. Empty ones are dropped.
 */
export function modelView(messages: readonly Message[]): Message[] {
  const start = messages.findIndex(
    (message) => message.role === 'user' && !message.content.some((block) => block.type === 'toolResult'),
  )
  if (start === -1) return []
  const context = messages.slice(start)

  // The latest stored result for a call wins: a process that restored while another was still
  // running the tool may have stored an "interrupted" result; the real one, stored later, replaces it.
  const results = new Map<string, ToolResultBlock>()
  for (const message of context) {
    for (const block of message.content) {
      if (block.type === 'toolResult') results.set(block.toolUseId, block)
    }
  }

  const view: Message[] = []
  const push = (role: Message['role'], content: ContentBlock[]) => {
    if (content.length === 0) return
    const previous = view.at(-1)
    if (previous?.role === role) previous.content = [...previous.content, ...content]
    else view.push({ role, content })
  }
  for (const message of context) {
    if (message.role === 'user') {
      push(
        'user',
        message.content.filter((block) => block.type !== 'toolResult'),
      )
      continue
    }
    push('assistant', [...message.content])
    const calls = message.content.filter((block) => block.type === 'toolUse')
    if (calls.length === 0) continue
    const answers: ToolResultBlock[] = calls.map(
      (call) =>
        results.get(call.toolUseId) ?? {
          type: 'toolResult',
          toolUseId: call.toolUseId,
          status: 'error',
          content: [{ type: 'text', text: MISSING_RESULT_TEXT }],
        },
    )
    // Results open the user turn that follows the call (Anthropic requires them first).
    view.push({ role: 'user', content: answers })
  }
  return view
}
