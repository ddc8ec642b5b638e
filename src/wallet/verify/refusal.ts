// Why the wallet will not sign a challenge. Thrown inside the verifier, reported as a reason.
export class Refusal extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Refusal';
  }
}
