export { redeploy } from './redeploy.js';
