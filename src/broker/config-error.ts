/** A broker config that cannot be used as given (the message says which key and why); the start stops with it. */
export class ConfigError extends Error {}
