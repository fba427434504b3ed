/** `tether-agents/models/openai`: OpenAI Chat Completions and OpenAI-compatible servers. */
export { OpenAIModel, type OpenAIModelOptions } from './openai-model.ts'
