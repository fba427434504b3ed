import type { ContentBlock, Message } from '../messages/message.ts'

/**
 * The messages as sent to the model. `agent.messages` mirrors storage one to one (so window
 * offsets never drift); this view is what makes them a valid request for every provider:
 * - leading messages that are not a user prompt are dropped (a window must open on the user);
 * - consecutive messages of one role are merged (a prompt left unanswered by a crash, then a new
 *   prompt, would otherwise be two user turns in a row, which Anthropic and Bedrock reject).
 * It is a pure function of the stored history, so every process computes the same view.
 */
export function modelView(messages: readonly Message[]): Message[] {
  const view: Message[] = []
  let started = false
  for (const message of messages) {
    if (!started) {
      if (message.role !== 'user' || message.content.some((block) => block.type === 'toolResult')) continue
      started = true
    }
    const previous = view.at(-1)
    if (previous && previous.role === message.role) {
      previous.content = mergeContent(previous.content, message.content)
    } else {
      view.push({ role: message.role, content: [...message.content] })
    }
  }
  return view
}

/** Tool results go first in a user turn (Anthropic requires it), then everything else in order. */
function mergeContent(first: ContentBlock[], second: ContentBlock[]): ContentBlock[] {
  const all = [...first, ...second]
  if (!all.some((block) => block.type === 'toolResult')) return all
  return [
    ...all.filter((block) => block.type === 'toolResult'),
    ...all.filter((block) => block.type !== 'toolResult'),
  ]
}
