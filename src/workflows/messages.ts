/** Kept for compatibility: the message definitions live in core/messages.ts (the activities reach them there). */
export * from '../core/messages.js';
