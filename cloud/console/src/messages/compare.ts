/** The compare view's messages; `zh` must have `en`'s shape. */
export const en = {
  heading: 'Plant comparison',
};

export const zh: typeof en = {
  heading: '工厂对比',
};
