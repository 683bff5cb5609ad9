// Creates a batch the way the api's upload does (the store's begin, BatchUpload, finish), chunk jobs queued.
import { newBatchId, type BatchHeader, type BatchRecipient } from '@ttpush/contract';
import { BatchUpload, type BatchStore, type LaneQueues } from '@ttpush/store';

export async function uploadBatch(
  store: BatchStore,
  queues: LaneQueues,
  app: string,
  header: BatchHeader,
  recipients: Iterable<BatchRecipient>,
): Promise<string> {
  const now = Date.now();
  const id = newBatchId(now);
  await store.begin({ id, app, header, now });
  const upload = new BatchUpload({ store, queues }, id, header);
  for (const r of recipients) await upload.add(r);
  return (await upload.finish()).id;
}
