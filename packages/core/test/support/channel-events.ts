/** Records `node:diagnostics_channel` events, for the tests of Strand's `strand:*` channels. */
import diagnosticsChannel from 'node:diagnostics_channel';

/** One event: its channel name and message. */
export type ChannelEvent = [string, Record<string, unknown>];

/** Records every event of the channels `names` while `run` runs, in order. */
export async function recordChannels(names: readonly string[], run: () => Promise<void>): Promise<ChannelEvent[]> {
  const events: ChannelEvent[] = [];
  const listeners = names.map((name) => {
    const listener = (message: unknown): void => void events.push([name, message as Record<string, unknown>]);
    diagnosticsChannel.subscribe(name, listener);
    return [name, listener] as const;
  });
  try {
    await run();
  } finally {
    for (const [name, listener] of listeners) diagnosticsChannel.unsubscribe(name, listener);
  }
  return events;
}
