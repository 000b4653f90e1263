/** What the shell hands every view: the live sites feed, who is signed in, and the route it shows. */
import type { PropType } from 'vue';
import type { Principal } from '../api.js';
import type { Feed } from '../live.js';
import type { Route } from '../router.js';

export const viewProps = {
  feed: { type: Object as PropType<Feed>, required: true },
  principal: { type: Object as PropType<Principal>, required: true },
  route: { type: Object as PropType<Route>, required: true },
} as const;
