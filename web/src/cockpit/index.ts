export { Cockpit } from './Cockpit';
export { EndedBanner } from './EndedBanner';
export { useSessionEnded } from './useSessionEnded';
