/**
 * The X.509 library's runtime, set once: @peculiar/x509 needs the reflect
 * polyfill (its ASN.1 schemas use decorators) and a WebCrypto provider
 * (Node's own). Every file of this lib that uses the library imports it from here.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// The library's types name the DOM's Crypto; Node's is the same API.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
export const subtle = webcrypto.subtle;
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
