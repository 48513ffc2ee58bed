import { OneOffQueue } from './one-off.queue';

describe('OneOffQueue', () => {
  const csr = (s: string) => Buffer.from(s);

  it('sends custom messages one per message in order, the CSR once with the first', () => {
    const q = new OneOffQueue();
    expect(q.pending).toBe(false);
    expect(q.take()).toBeUndefined();
    q.pushCustom({ capability: 'c', type: '1' });
    q.pushCustom({ capability: 'c', type: '2' });
    q.setCertificateRequest(csr('a'));
    q.setCertificateRequest(csr('b'));
    expect(q.take()).toEqual({ customMessage: { capability: 'c', type: '1' }, certificateRequest: csr('b') });
    expect(q.take()).toEqual({ customMessage: { capability: 'c', type: '2' } });
    expect(q.pending).toBe(false);
  });

  it('puts back what a failed message carried, a newer CSR winning', () => {
    const q = new OneOffQueue();
    q.setCertificateRequest(csr('old'));
    const lost = q.take();
    q.requeue(lost);
    expect(q.take()).toEqual({ certificateRequest: csr('old') });
    q.setCertificateRequest(csr('new'));
    q.requeue({ certificateRequest: csr('old'), customMessage: { capability: 'c', type: 'x' } });
    expect(q.take()).toEqual({ customMessage: { capability: 'c', type: 'x' }, certificateRequest: csr('new') });
  });
});
