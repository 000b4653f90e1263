/** The site view's messages; `zh` must have `en`'s shape. */
export const en = {
  heading: 'Site',
};

export const zh: typeof en = {
  heading: '站点',
};
