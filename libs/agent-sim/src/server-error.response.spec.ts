import { ServerErrorResponseType as T } from '@opamp/protocol';
import { serverErrorAction } from './server-error.response';

describe('serverErrorAction', () => {
  it('counts BAD_REQUEST without a retry, retries UNAVAILABLE after retry_info or the backoff, counts the rest', () => {
    expect(serverErrorAction({ type: T.ServerErrorResponseType_BadRequest, errorMessage: 'bad' })).toEqual({ kind: 'bad_request', text: 'bad' });
    expect(serverErrorAction({ type: T.ServerErrorResponseType_Unavailable, retryInfo: { retryAfterNanoseconds: 2_000_000_000 } })).toEqual({
      kind: 'unavailable',
      text: 'no error message',
      retryMs: 2_000,
    });
    expect(serverErrorAction({ type: T.ServerErrorResponseType_Unavailable })).toMatchObject({ kind: 'unavailable', retryMs: undefined });
    expect(serverErrorAction({ errorMessage: 'x' })).toEqual({ kind: 'server_error', text: 'x' });
  });
});
