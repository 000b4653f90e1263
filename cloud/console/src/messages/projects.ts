/** The projects view's messages; `zh` must have `en`'s shape. */
export const en = {
  heading: 'Demonstration projects',
};

export const zh: typeof en = {
  heading: '示范项目',
};
