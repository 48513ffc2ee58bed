/**
 * What a simulated agent makes of a ServerToAgent.error_response, pure:
 * BAD_REQUEST is counted and not retried (the same message would be refused
 * again), UNAVAILABLE is retried after retry_info (or the agent's backoff when
 * it has none), anything else is counted as a server error.
 */
import { opamp, ServerErrorResponseType } from '@opamp/protocol';
import { retryInfoToMs } from './retry-after';

export type ServerErrorAction =
  | { readonly kind: 'bad_request' | 'server_error'; readonly text: string }
  /** retryMs: what retry_info asks for; undefined: the agent's own backoff. */
  | { readonly kind: 'unavailable'; readonly text: string; readonly retryMs: number | undefined };

export function serverErrorAction(error: opamp.proto.v1.IServerErrorResponse): ServerErrorAction {
  const text = error.errorMessage || 'no error message';
  switch (error.type ?? ServerErrorResponseType.ServerErrorResponseType_Unknown) {
    case ServerErrorResponseType.ServerErrorResponseType_BadRequest:
      return { kind: 'bad_request', text };
    case ServerErrorResponseType.ServerErrorResponseType_Unavailable:
      return { kind: 'unavailable', text, retryMs: retryInfoToMs(error.retryInfo?.retryAfterNanoseconds) };
    default:
      return { kind: 'server_error', text };
  }
}
