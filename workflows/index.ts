export { promotion } from './promotion';
export { chartRelease } from './chart-release';
