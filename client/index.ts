// The client library's entry point (`oauth-broker/client`): what calling services import.
export { createBrokerClient } from './broker-client.js';
export type { AccessToken, BrokerClient, BrokerClientOptions, ConnectionName, TokenRequest } from './broker-client.js';
export { BrokerClientError, clientFailureCodes, isBrokerClientError } from './broker-client-error.js';
export type { BrokerClientErrorCode, ClientFailureCode } from './broker-client-error.js';
