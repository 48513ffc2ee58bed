import { EventLoopSlice } from './event-loop.slice';

describe('event-loop slice', () => {
  it('lets queued callbacks run once the slice is used up, and not before', async () => {
    let clock = 0;
    const slice = new EventLoopSlice(20, () => clock);
    let ran = 0;
    setImmediate(() => ran++);
    clock = 19;
    await slice.turn();
    expect({ ran, turns: slice.turns }).toEqual({ ran: 0, turns: 0 });
    clock = 20;
    await slice.turn();
    expect({ ran, turns: slice.turns }).toEqual({ ran: 1, turns: 1 });
    // A new slice starts after the turn.
    setImmediate(() => ran++);
    clock = 39;
    await slice.turn();
    expect({ ran, turns: slice.turns }).toEqual({ ran: 1, turns: 1 });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(ran).toBe(2);
  });
});
