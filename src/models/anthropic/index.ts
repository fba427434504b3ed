/** `tether-agents/models/anthropic`: Claude through the Anthropic Messages API. */
export { AnthropicModel, type AnthropicModelOptions } from './anthropic-model.ts'
