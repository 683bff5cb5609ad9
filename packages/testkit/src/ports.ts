export { freePort } from '@ttpush/core';
