/**
 * A problem that stops the process from starting, caused by one configuration variable.
 * main.ts prints the message as one line and exits non-zero; it never contains a secret.
 */
export class StartupError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'StartupError';
    this.variable = variable;
  }
}

/**
 * A dependency the call needs (the database, Redis) cannot be used right now; the same call may
 * work once it is back. The HTTP layer answers 503 naming `dependency`.
 */
export class DependencyUnavailableError extends Error {
  readonly dependency: string;
  constructor(dependency: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DependencyUnavailableError';
    this.dependency = dependency;
  }
}
