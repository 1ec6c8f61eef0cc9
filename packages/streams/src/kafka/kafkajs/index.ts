// The kafkajs adapter of the Kafka client port: the only folder that imports kafkajs.

export { kafkajsClientFactory } from './factory.js';
export { type GroupAssignerOptions, groupProtocolAssigner } from './group-assigner.js';
