/** The Sparkplug B wire contract (Sparkplug 3.0.0 / ISO/IEC 20237): payload codec and topic namespace. */
export * from './payload.js';
export * from './topics.js';
