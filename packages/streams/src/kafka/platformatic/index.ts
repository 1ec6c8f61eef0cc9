// The @platformatic/kafka adapter of the Kafka client port: the only folder that imports @platformatic/kafka.

export { platformaticClientFactory } from './factory.js';
