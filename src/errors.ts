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
