/** A "billion laughs" YAML document: nine levels of nine aliases, 9^9 strings once expanded. */
export function aliasBombYaml(): string {
  const levels = 'abcdefghi'.split('');
  return levels
    .map((name, index) => {
      const previous = levels[index - 1];
      const items = previous === undefined ? Array(9).fill('"lol"') : Array(9).fill(`*${previous}`);
      return `${name}: &${name} [${items.join(', ')}]`;
    })
    .join('\n');
}
