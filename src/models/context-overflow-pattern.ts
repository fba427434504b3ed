/**
 * Wording that providers and OpenAI-compatible servers use when a request does not fit the
 * context window. Error codes differ between servers and some send none, so the message is the
 * one signal they share. Sources of each phrase:
 * - OpenAI, vLLM, DeepSeek, OpenRouter: "This model's maximum context length is N tokens"
 * - OpenAI code `context_length_exceeded`; llama.cpp type `exceed_context_size_error`
 * - llama.cpp: "the request exceeds the available context size"; "Context size has been exceeded"
 * - llama-cpp-python: "Requested tokens (N) exceed context window of M"
 * - Anthropic (also through Bedrock): "prompt is too long", "input length and `max_tokens` exceed context limit"
 * - Bedrock: "Input is too long for requested model", "too many input tokens"
 */
export const CONTEXT_OVERFLOW_PATTERN = new RegExp(
  [
    'context[_ ]length[_ ]exceeded',
    'exceed_context_size',
    'maximum context length',
    'context (size|window|length|limit) (has been |was )?exceeded',
    'exceeds? (the )?(available |maximum |model.s )?context (size|window|length|limit)',
    'prompt is too long',
    'input is too long',
    'too many (input )?tokens',
  ].join('|'),
  'i',
)

export function isContextOverflowMessage(...texts: (string | null | undefined)[]): boolean {
  return texts.some((text) => typeof text === 'string' && CONTEXT_OVERFLOW_PATTERN.test(text))
}
