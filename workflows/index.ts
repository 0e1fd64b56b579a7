export { promotion } from './promotion';
