/** The health view's messages; `zh` must have `en`'s shape. */
export const en = {
  heading: 'Data health',
};

export const zh: typeof en = {
  heading: '数据健康',
};
