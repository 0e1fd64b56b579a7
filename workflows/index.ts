export { promotion } from './promotion';
export { chartRelease } from './chart-release';
export { keyCeremony } from './key-ceremony';
export { keyRotation } from './key-rotation';
export { keyRevocation } from './key-revocation';
export { keyCampaign } from './key-campaign';
export { keyRoot } from './key-root';
