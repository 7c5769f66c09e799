import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'ui/dist/**', 'build/**', 'bench/results.json', 'src/api/consumer/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  {
    // src/wire and src/tcp must run in a browser: no Node built-ins, no Buffer, no process.
    files: ['src/wire/**/*.ts', 'src/tcp/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'path', 'net', 'os', 'crypto', 'buffer', 'stream', 'events', 'util'] }],
      'no-restricted-globals': ['error', 'Buffer', 'process', 'setTimeout', 'setInterval', 'setImmediate'],
    },
  },
  {
    // src/stack runs in a browser too, except its node:net adapter (Socket, Server, their copy blocks, createNet).
    // Timers are allowed here: a RealClock is the stack's own host clock.
    files: ['src/stack/**/*.ts'],
    ignores: ['**/*.test.ts', 'src/stack/socket.ts', 'src/stack/server.ts', 'src/stack/socket-copy-blocks.ts', 'src/stack/node-net.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'path', 'net', 'os', 'crypto', 'buffer', 'stream', 'events', 'util'] }],
      'no-restricted-globals': ['error', 'Buffer', 'process'],
    },
  },
);
