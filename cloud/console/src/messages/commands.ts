/** The commands view's messages; `zh` must have `en`'s shape. */
export const en = {
  heading: 'Commands',
};

export const zh: typeof en = {
  heading: '控制命令',
};
