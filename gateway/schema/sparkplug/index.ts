/** The Sparkplug B wire contract (Sparkplug 3.0.0 / ISO/IEC 20237): payload codec, topic namespace, jjj's names. */
export * from './payload.js';
export * from './properties.js';
export * from './topics.js';
