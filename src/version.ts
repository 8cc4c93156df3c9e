/** kstream's version, from package.json at build time (kept in sync by a test). */
export const VERSION = '0.1.0';
