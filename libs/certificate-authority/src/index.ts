/**
 * Certificate authority for agents' client certificates (issue 18), pure:
 * tenant CAs, sealing their keys, CSR parsing and policy, signing, and the
 * signer seam for external CAs. No framework, no I/O beyond reading an
 * operator's CA files.
 */
export * from './agent-certificate-names';
export * from './certificate-limits';
export * from './certificate-policy';
export * from './certificate-refusal';
export * from './certificate-renewal';
export * from './certificate-request';
export * from './certificate-signer';
export * from './client-certificate';
export { CA_KEY_TYPES, DEFAULT_CA_KEY_TYPE, KEY_TYPES, isKeyType, type KeyType } from './key-algorithm';
export * from './private-key-seal';
export * from './revocation-list';
export * from './tenant-ca';
