/**
 * The `jjj-gateway` commands OPC UA adds: `discover opcua URL` and `certificates`. Each loads node-opcua
 * when it runs, not when the registry loads this module (`jjj-gateway validate` must stay light).
 */
import { type AdapterCli, type AdapterCommand, AdapterUsageError } from '../contract.js';

const discoverCommand: AdapterCommand = {
  words: ['discover', 'opcua'],
  usage: 'discover opcua opc.tcp://HOST:PORT [--root NODE] [--depth N]',
  summary:
    'browse an OPC UA server and print a ready-to-edit gateway config (YAML) with\n' +
    'one point per variable found (node id, browse path, data type, unit, range)',
  options: { root: { type: 'string' }, depth: { type: 'string' } },
  optionsHelp: [
    '--root NODE      discover: node to browse from (default i=85, the Objects folder)',
    '--depth N        discover: levels to browse below the root (default 6)',
  ],
  needsConfig: false,
  async run({ args, options }) {
    const [endpoint, ...more] = args;
    if (!endpoint || more.length > 0)
      throw new AdapterUsageError('usage: discover opcua opc.tcp://HOST:PORT');
    const depth = options.depth === undefined ? undefined : Number(options.depth);
    if (depth !== undefined && !(Number.isInteger(depth) && depth > 0)) {
      throw new AdapterUsageError('--depth needs a positive integer');
    }
    const root = typeof options.root === 'string' ? options.root : undefined;
    const { discover } = await import('./discover.js');
    return discover({ endpoint, ...(root && { root }), ...(depth && { depth }) });
  },
};

const certificates: AdapterCommand = {
  words: ['certificates'],
  usage: 'certificates --config FILE [list | trust FINGERPRINT]',
  summary:
    'list the OPC UA server certificates the gateway has seen (trusted, rejected),\n' +
    'or trust a rejected one by its SHA-1 fingerprint (or a unique prefix of it)',
  needsConfig: true,
  async run({ args, stateDir }) {
    const { certificatesCommand } = await import('./certificates.js');
    const lines = await certificatesCommand(stateDir ?? '.', args);
    return lines.map((line) => `${line}\n`).join('');
  },
};

export const opcuaCli: AdapterCli = { commands: [discoverCommand, certificates] };
