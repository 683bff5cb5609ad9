export * from './types.ts';
export * from './keys.ts';
export * from './signing.ts';
export * from './url-policy.ts';
export * from './endpoint-record.ts';
export * from './delivery-record.ts';
export * from './endpoint-store.ts';
export * from './delivery-queue.ts';
