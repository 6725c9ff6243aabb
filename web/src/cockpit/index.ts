export { Cockpit, type CockpitProps } from './Cockpit';
export { EndedBanner } from './EndedBanner';
export { useSessionEnded } from './useSessionEnded';
