import pkg from '../package.json' with { type: 'json' };

export const NAME = 'arkrelay';
export const VERSION: string = pkg.version;
