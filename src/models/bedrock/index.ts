/** `tether-agents/models/bedrock`: models on Amazon Bedrock through the Converse API. */
export { BedrockModel, type BedrockModelOptions } from './bedrock-model.ts'
