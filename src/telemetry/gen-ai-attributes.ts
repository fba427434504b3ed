/**
 * Attribute names from the OpenTelemetry semantic conventions for generative AI
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/), and Tether's own for sessions.
 */
export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  agentName: 'gen_ai.agent.name',
  conversationId: 'gen_ai.conversation.id',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  finishReasons: 'gen_ai.response.finish_reasons',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
} as const

/** Session spans: `tether.session.restore` and `tether.session.append`. */
export const SESSION = {
  id: 'tether.session.id',
  agentId: 'tether.session.agent_id',
  store: 'tether.session.store',
  index: 'tether.session.index',
  bytes: 'tether.session.bytes',
  role: 'tether.session.message_role',
  windowStart: 'tether.session.window_start',
  messages: 'tether.session.messages',
  storedMessages: 'tether.session.stored_messages',
  repairs: 'tether.session.repairs',
} as const
