export { freePort } from '@ttpush/store';
