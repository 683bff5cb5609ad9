export * from './app.ts';
export * from './server.ts';
export * from './metrics.ts';
export * from './message-service.ts';
export * from './batch-service.ts';
